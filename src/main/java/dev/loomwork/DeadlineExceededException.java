package dev.loomwork;

import java.io.Serial;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * The failure of a task whose overall deadline ({@link Task#within(java.time.Duration)}) passed: no
 * attempt starts after it, and a running attempt is cut at it. Never retried. The cause is the last
 * real failure of the task, if it had one.
 */
public final class DeadlineExceededException extends RuntimeException {
  @Serial private static final long serialVersionUID = 1L;

  private final transient Instant deadline;

  /**
   * Creates the exception.
   *
   * @param taskName the task's name
   * @param deadline the deadline that passed
   * @param cause the task's last failure, or null
   */
  public DeadlineExceededException(String taskName, Instant deadline, @Nullable Throwable cause) {
    super("task '" + taskName + "' passed its deadline " + deadline, cause);
    this.deadline = deadline;
  }

  /**
   * Returns the deadline that passed.
   *
   * @return the deadline
   */
  public Instant deadline() {
    return deadline;
  }
}
