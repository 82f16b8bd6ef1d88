package dev.loomwork.admin;

/** How one attempt of a task ended. */
public enum AttemptOutcome {
  /** It is still running. */
  RUNNING,
  /** It returned: the task succeeded. */
  SUCCEEDED,
  /** It failed, and the task was retried: another attempt follows, after a backoff. */
  RETRIED,
  /** It failed, and the task failed with it: no attempt left, or the failure was not retryable. */
  FAILED,
  /** The task was cancelled while this attempt ran. */
  CANCELLED,
  /**
   * Its worker lost its lease (the process died or could not reach the store) and a rescuer took the
   * task back: retried if attempts were left, failed otherwise.
   */
  LOST,
  /** A cutting shutdown stopped it and gave the attempt back: the task is ready again. */
  RELEASED
}
