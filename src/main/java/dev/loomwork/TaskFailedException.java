package dev.loomwork;

import java.io.Serial;

/**
 * Thrown by {@link Task#await()} when the task failed. The {@linkplain #getCause() cause} is the
 * task's {@link Task#error() error}: its last real failure, not a wrapper.
 */
public final class TaskFailedException extends RuntimeException {
  @Serial private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param taskName the task's name
   * @param attempts how many attempts the task made
   * @param cause the task's last failure
   */
  public TaskFailedException(String taskName, int attempts, Throwable cause) {
    super("task '" + taskName + "' failed after " + attempts + " attempt(s): " + cause, cause);
  }
}
