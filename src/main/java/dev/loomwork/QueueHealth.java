package dev.loomwork;

import java.time.Duration;
import java.util.Map;
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
 * @param unclaimable on a durable queue, the store's due ready tasks of the queue that no live worker
 *     claims, because no live worker of the queue registered their handler, by handler name; read by
 *     the store's housekeeping every rescue interval, so it lags by up to that interval. Empty when
 *     every ready task has a worker, and always on a queue in memory. A non-empty map means tasks
 *     that wait forever until some process registers their handler
 */
public record QueueHealth(
    String queue,
    QueueLifecycle lifecycle,
    int ready,
    int waiting,
    int running,
    int capacity,
    int concurrency,
    Duration oldestReadyAge,
    Map<String, Long> unclaimable) {

  /** Checks that no component is null, and makes {@code unclaimable} immutable. */
  public QueueHealth {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(lifecycle, "lifecycle");
    Objects.requireNonNull(oldestReadyAge, "oldestReadyAge");
    unclaimable = Map.copyOf(Objects.requireNonNull(unclaimable, "unclaimable"));
  }

  /**
   * Creates a health snapshot with no unclaimable task, as a queue in memory has.
   *
   * @param queue the queue's name
   * @param lifecycle where the queue is in its life
   * @param ready tasks waiting in the ready queue for a free permit
   * @param waiting tasks waiting for their not-before time or a retry backoff
   * @param running tasks with an attempt in flight
   * @param capacity how many tasks the ready queue holds at most
   * @param concurrency how many attempts run at once at most
   * @param oldestReadyAge how long the oldest ready task has been ready
   */
  public QueueHealth(
      String queue,
      QueueLifecycle lifecycle,
      int ready,
      int waiting,
      int running,
      int capacity,
      int concurrency,
      Duration oldestReadyAge) {
    this(queue, lifecycle, ready, waiting, running, capacity, concurrency, oldestReadyAge, Map.of());
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
