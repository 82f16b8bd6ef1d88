package dev.loomwork;

import java.io.Serial;
import org.jspecify.annotations.Nullable;

/**
 * Thrown by a task body to say that its failure is permanent: the task fails at once with this
 * exception as its {@link Task#error() error}, whatever retries are left, with no backoff wait.
 *
 * <p>Wrap the real failure as the cause so it is not lost: {@code throw new
 * NonRetryableException("invalid address", e)}.
 */
public class NonRetryableException extends RuntimeException {
  @Serial private static final long serialVersionUID = 1L;

  /**
   * Creates the exception with a message.
   *
   * @param message what went wrong
   */
  public NonRetryableException(String message) {
    super(message);
  }

  /**
   * Creates the exception with a message and the real failure.
   *
   * @param message what went wrong
   * @param cause the real failure, or null
   */
  public NonRetryableException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
