package dev.loomwork;

import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * Receives the events of a queue, for metrics and logs. Every method has an empty default, so new
 * events never break an implementation.
 *
 * <p>Methods are called on the queue's threads (callers of {@code enqueue}, attempt threads, the
 * scheduler), never while the queue holds a lock, and possibly concurrently: an implementation must
 * be thread-safe and should be quick. An exception thrown by a listener is caught and logged; it never
 * harms the queue or the task.
 *
 * <p><b>Order.</b> The events of one task arrive in the order they happened, one call after the
 * other, even though they come from different threads: {@link #onEnqueued} first, then for each
 * attempt {@link #onAttemptStarted} and {@link #onAttemptFinished}, then {@link #onRetryScheduled}
 * before the next attempt's start, and the terminal event ({@link #onSucceeded}, {@link #onFailed} or
 * {@link #onCancelled}) last; an {@link #onAbandoned} comes between the start and the end of the
 * attempt it gave up on. To keep that order a thread waits while another still publishes an earlier
 * event of the same task, so a listener must not wait, inside one event, for a later event of the
 * same task (for example by awaiting the task in {@code onEnqueued}). Events of different tasks may
 * interleave.
 */
public interface WorkQueueListener {

  /**
   * A task was accepted: enqueued here, or, on a durable queue, claimed from the store by this
   * process (once per claim: a task claimed again after a retry or a release is announced again).
   *
   * @param task the task
   */
  default void onEnqueued(Task<?> task) {}

  /**
   * A task was refused: the queue was shut down or full. A producer that gave up waiting for room
   * (an interrupted thread, a cancelled coroutine) was not refused, and is not reported.
   *
   * @param queue the queue's name
   * @param task the refused task
   * @param reason why it was refused
   */
  default void onRejected(String queue, Task<?> task, String reason) {}

  /**
   * An attempt started.
   *
   * @param task the task
   * @param attempt the attempt number, from 1
   * @param waited the time from the task's acceptance (or, for a retry, from its ready time) to now
   */
  default void onAttemptStarted(Task<?> task, int attempt, Duration waited) {}

  /**
   * An attempt ended.
   *
   * @param task the task
   * @param attempt the attempt number, from 1
   * @param outcome how it ended
   * @param duration how long it ran
   * @param error the failure, or null if it succeeded
   */
  default void onAttemptFinished(
      Task<?> task, int attempt, AttemptOutcome outcome, Duration duration, @Nullable Throwable error) {}

  /**
   * A failed task will be retried.
   *
   * @param task the task
   * @param error the failure of the attempt that just ended
   * @param nextAttemptAt when the next attempt becomes ready
   */
  default void onRetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) {}

  /**
   * A task succeeded.
   *
   * @param task the task
   */
  default void onSucceeded(Task<?> task) {}

  /**
   * A task failed for good.
   *
   * @param task the task
   * @param error its last failure
   */
  default void onFailed(Task<?> task, Throwable error) {}

  /**
   * A task was cancelled.
   *
   * @param task the task
   */
  default void onCancelled(Task<?> task) {}

  /**
   * A shutdown gave up waiting for a task whose attempt ignored its interruption; the task still runs
   * and is reported as abandoned.
   *
   * @param task the task
   */
  default void onAbandoned(Task<?> task) {}

  /**
   * The queue terminated: it is shut down, and every task it accepted has ended (or, on a durable
   * queue, gone back to its store) and every attempt thread with it. Called once, and last: every
   * other event of the queue has been delivered before, and none is delivered after (a task refused
   * after this gets its exception and no {@link #onRejected}). It is called on the thread that owned
   * the queue, or, if a shutdown or a {@link Task#cancel()} was still delivering events of tasks it
   * ended (an {@link #onCancelled}, an {@link #onAbandoned}) when the queue terminated, on that
   * thread once its last event returned.
   *
   * @param queue the queue's name
   * @param stats the queue's final counts (nothing ready, running or waiting)
   */
  default void onTerminated(String queue, QueueStats stats) {}

  /** How an attempt ended. */
  enum AttemptOutcome {
    /** The body returned normally. */
    SUCCEEDED,
    /** The body threw. */
    FAILED,
    /** The attempt ran past its timeout and was cut. */
    TIMED_OUT,
    /** The attempt was cut by cancellation, shutdown or the task's deadline. */
    CANCELLED
  }
}
