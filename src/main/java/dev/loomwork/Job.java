package dev.loomwork;

import org.jspecify.annotations.Nullable;

/**
 * The body of a task that produces a result of type {@code T}. It may throw; a failure is retried
 * according to the task's {@link RetryPolicy}.
 *
 * <p>Pass it to {@link WorkQueue#submitJob(Job)} or {@link Task#ofJob(Job)}.
 *
 * @param <T> the result type
 */
@FunctionalInterface
public interface Job<T extends @Nullable Object> {
  /**
   * Runs one attempt and returns its result.
   *
   * @param context the attempt's context, the same object {@link TaskContext#current()} returns
   * @return the task's result
   * @throws Exception any failure; {@link NonRetryableException} ends the task at once
   */
  T call(TaskContext context) throws Exception;
}
