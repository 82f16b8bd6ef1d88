package dev.loomwork;

import dev.loomwork.internal.AttemptContext;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * The context of one attempt of a task, bound with a {@link ScopedValue} around the attempt: the body
 * and every thread it forks in nested {@code StructuredTaskScope}s read it with {@link #current()},
 * without passing it around. Thread-safe.
 *
 * <p>Implemented by loomwork only.
 */
public interface TaskContext {

  /**
   * Returns the context of the attempt the current thread runs in.
   *
   * @return the context
   * @throws IllegalStateException if the current thread is not running a loomwork attempt
   */
  static TaskContext current() {
    return AttemptContext.current();
  }

  /**
   * Tells whether the current thread runs inside a loomwork attempt.
   *
   * @return true if {@link #current()} would return a context
   */
  static boolean isBound() {
    return AttemptContext.isBound();
  }

  /**
   * Returns the name of the queue.
   *
   * @return the queue's name
   */
  String queueName();

  /**
   * Returns the task's stable id: the same for every attempt, and kept when the task is written to a
   * {@link ShutdownReport} and re-queued ({@link WorkQueue#requeue}). Use it as the idempotency key of
   * the task's effect: delivery is at least once wherever an attempt can be cut after its effect and
   * before its end (a shutdown that cuts it, a crash), so the receiving side should drop a second
   * delivery with the same key.
   *
   * @return the id, unique to the task (it starts with its queue instance's id)
   */
  String taskId();

  /**
   * Returns the name of the task.
   *
   * @return the task's name
   */
  String taskName();

  /**
   * Returns the number of this attempt: 1 for the first, 2 for the first retry, and so on.
   *
   * @return the attempt number, from 1
   */
  int attempt();

  /**
   * Returns the task's overall deadline, if it has one.
   *
   * @return the deadline, or null
   */
  @Nullable Instant deadline();

  /**
   * Returns the scheduled time of the tick that made this task, if a {@link RecurringTask} made it:
   * the tick's time by its schedule (or the time of a {@link RecurringTasks#triggerNow trigger}),
   * not the time it ran. The same for every attempt.
   *
   * @return the tick's time, or null for a task no schedule made
   */
  default @Nullable Instant scheduledAt() {
    return null;
  }

  /**
   * Tells whether this attempt has been cut: it timed out, passed the deadline, or was cancelled. The
   * attempt's thread is interrupted at the same moment; a body that polls instead of blocking should
   * check this and return.
   *
   * @return true once the attempt has been cut
   */
  boolean isCancelled();
}
