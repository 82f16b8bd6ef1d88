package dev.loomwork;

import java.io.Serial;
import org.jspecify.annotations.Nullable;

/**
 * A typed task's payload could not be encoded or decoded by its {@link TaskCodec}. At enqueue it
 * wraps a checked exception of the codec (an unchecked one reaches the caller as it is); at run it
 * fails the task at once, without retries: a payload that cannot be decoded never will be.
 */
public final class TaskCodecException extends NonRetryableException {
  @Serial private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what could not be encoded or decoded, naming the handler
   * @param cause the codec's failure, or null
   */
  public TaskCodecException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
