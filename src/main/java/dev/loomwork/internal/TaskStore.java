package dev.loomwork.internal;

import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Where pending tasks live between attempts: the seam between "where tasks come from and where
 * their retries go" and "how attempts run" (permits, the dispatch loop, runners, the context, the
 * retry verdict, listeners and metrics), which every store shares.
 *
 * <p>{@link MemoryStore} is the only store today. Its methods are called under the queue's lock and
 * never block; a task is pending in the store exactly while its state is {@code READY} or {@code
 * WAITING}. When its own timers make tasks ready, the store takes the lock itself and signals the
 * dispatcher.
 */
interface TaskStore {

  /**
   * Files an accepted task (state {@code READY} or {@code WAITING}).
   *
   * @param dueNanos when its first attempt is due, on {@link #nanoTime()}'s scale
   */
  void add(TaskCore<?> t, long dueNanos);

  /** Takes the next ready task, now {@code RUNNING}'s to make; null if none is ready. */
  @Nullable TaskCore<?> claim();

  /** Files a task whose attempt failed and will be retried after {@code delayNanos}. */
  void retry(TaskCore<?> t, long delayNanos);

  /** Removes a pending task that is ending (cancelled, or failed at its deadline). */
  void remove(TaskCore<?> t);

  /** Removes every pending task, in order (ready ones first), handing each to {@code ended}. */
  void removeAll(Consumer<TaskCore<?>> ended);

  /** Tasks ready to run. */
  int readyCount();

  /** Tasks waiting for a not-before time or a retry. */
  int waitingCount();

  /** The store's time, in nanoseconds from an origin of its own; never negative, never wraps. */
  long nanoTime();

  /**
   * How long the oldest ready task has been ready, in nanoseconds; 0 if none is ready (or if the
   * store cannot tell). For health checks and a gauge: called seldom, under the queue's lock.
   */
  default long oldestReadyNanos() {
    return 0;
  }
}
