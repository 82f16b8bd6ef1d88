package dev.loomwork;

import java.io.Serial;
import java.time.Duration;

/**
 * The failure of an attempt that ran past its {@link RetryPolicy#attemptTimeout() attempt timeout}.
 * The queue's scheduler cancelled the attempt's scope, which interrupted the body. Whatever the body
 * threw on being interrupted is attached as a suppressed exception. The retry policy decides whether
 * the task is retried; by default it is.
 */
public final class AttemptTimeoutException extends RuntimeException {
  @Serial private static final long serialVersionUID = 1L;

  private final transient Duration timeout;

  /**
   * Creates the exception.
   *
   * @param taskName the task's name
   * @param attempt the attempt number, from 1
   * @param timeout the attempt timeout that passed
   */
  public AttemptTimeoutException(String taskName, int attempt, Duration timeout) {
    super("attempt " + attempt + " of task '" + taskName + "' timed out after " + timeout);
    this.timeout = timeout;
  }

  /**
   * Returns the timeout that passed.
   *
   * @return the attempt timeout
   */
  public Duration timeout() {
    return timeout;
  }
}
