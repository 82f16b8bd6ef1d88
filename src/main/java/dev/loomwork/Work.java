package dev.loomwork;

/**
 * The body of a task that produces no result. It may throw; a failure is retried according to the
 * task's {@link RetryPolicy}.
 *
 * <p>Pass it to {@link WorkQueue#submit(Work)} or {@link Task#of(Work)}. Its sibling for bodies that
 * return a value is {@link Job}; the two reach the API through factories of different names, so a
 * lambda is never ambiguous.
 */
@FunctionalInterface
public interface Work {
  /**
   * Runs one attempt.
   *
   * @param context the attempt's context, the same object {@link TaskContext#current()} returns
   * @throws Exception any failure; {@link NonRetryableException} ends the task at once
   */
  void run(TaskContext context) throws Exception;
}
