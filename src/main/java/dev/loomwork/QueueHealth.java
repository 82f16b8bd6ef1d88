package dev.loomwork;

import java.time.Duration;
import java.util.Objects;

/**
 * What a health endpoint needs to know about a queue, read in one hold of the queue's lock by {@link
 * WorkQueue#health()}: cheap enough to serve on every probe.
 *
 * @param queue the queue's name
 * @param lifecycle where the queue is in its life
 * @param ready tasks waiting in the ready queue for a free permit
 * @param waiting tasks waiting for their not-before time or a retry backoff
 * @param running tasks with an attempt in flight
 * @param capacity how many tasks the ready queue holds at most ({@code WorkQueue.Builder.capacity})
 * @param concurrency how many attempts run at once at most ({@code WorkQueue.Builder.concurrency})
 * @param oldestReadyAge how long the oldest ready task has been ready (since it was enqueued, its
 *     not-before time passed, or its retry became due); {@link Duration#ZERO} if no task is ready. A
 *     queue with a meter registry or a listener notes when each task becomes ready anyway; one
 *     without starts at its first {@code health()} call, so a task already ready then counts from
 *     that call (and that call reads zero)
 */
public record QueueHealth(
    String queue,
    QueueLifecycle lifecycle,
    int ready,
    int waiting,
    int running,
    int capacity,
    int concurrency,
    Duration oldestReadyAge) {

  /** Checks that no component is null. */
  public QueueHealth {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(lifecycle, "lifecycle");
    Objects.requireNonNull(oldestReadyAge, "oldestReadyAge");
  }

  /**
   * The readiness signal: whether the queue accepts new tasks now. A queue that is shutting down or
   * has terminated refuses them with a {@link java.util.concurrent.RejectedExecutionException}.
   *
   * @return {@code lifecycle().accepting()}
   */
  public boolean accepting() {
    return lifecycle.accepting();
  }

  /**
   * Tells whether the ready queue is full, so that {@code offer} refuses and {@code submit} waits.
   *
   * @return {@code ready() >= capacity()}
   */
  public boolean full() {
    return ready >= capacity;
  }

  /**
   * Returns the number of accepted tasks not yet in a terminal state.
   *
   * @return {@code ready + waiting + running}
   */
  public long outstanding() {
    return (long) ready + waiting + running;
  }
}
