package dev.loomwork;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A kind of task that can be written down: a stable handler name, a {@link TaskCodec} for its
 * payload, and optional default settings. Unlike a closure, a typed task survives being written to a
 * {@link ShutdownReport} and re-queued, in this process or the next one, as long as a queue there
 * registers a handler under the same name.
 *
 * <pre>{@code
 * static final TaskType<Welcome> WELCOME = TaskType.of("email.welcome", welcomeCodec);
 *
 * WorkQueue queue = WorkQueue.builder("email")
 *     .handle(WELCOME, (ctx, welcome) -> mailer.send(welcome.address()))
 *     .build();
 * queue.submit(WELCOME, new Welcome("ada@example.com"));
 * }</pre>
 *
 * <p>Immutable and thread-safe; the with-ers return copies.
 *
 * @param <P> the payload type
 */
public final class TaskType<P extends @Nullable Object> {
  private final String handler;
  private final TaskCodec<P> codec;
  private final @Nullable RetryPolicy retryPolicy;
  private final @Nullable Duration attemptTimeout;

  private TaskType(
      String handler,
      TaskCodec<P> codec,
      @Nullable RetryPolicy retryPolicy,
      @Nullable Duration attemptTimeout) {
    this.handler = handler;
    this.codec = codec;
    this.retryPolicy = retryPolicy;
    this.attemptTimeout = attemptTimeout;
  }

  /**
   * Creates a task type.
   *
   * @param handler the stable name its handler is registered and written down under, for example
   *     {@code "email.welcome"}; not blank
   * @param codec encodes and decodes its payloads
   * @param <P> the payload type
   * @return the type, with no default settings of its own (the queue's apply)
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code handler} is blank
   */
  public static <P extends @Nullable Object> TaskType<P> of(String handler, TaskCodec<P> codec) {
    Objects.requireNonNull(handler, "handler");
    Objects.requireNonNull(codec, "codec");
    if (handler.isBlank()) {
      throw new IllegalArgumentException("handler: '" + handler + "' (expected: not blank)");
    }
    return new TaskType<>(handler, codec, null, null);
  }

  /**
   * Returns a copy whose tasks use {@code policy} unless a task sets its own.
   *
   * @param policy the default policy of this type's tasks, instead of the queue's
   * @return the copy
   * @throws NullPointerException if {@code policy} is null
   */
  public TaskType<P> withRetryPolicy(RetryPolicy policy) {
    Objects.requireNonNull(policy, "policy");
    return new TaskType<>(handler, codec, policy, attemptTimeout);
  }

  /**
   * Returns a copy whose tasks' attempts time out after {@code timeout} unless a task sets its own.
   *
   * @param timeout positive
   * @return the copy
   * @throws NullPointerException if {@code timeout} is null
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  public TaskType<P> withAttemptTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
    }
    return new TaskType<>(handler, codec, retryPolicy, timeout);
  }

  /** {@return the handler name} */
  public String handler() {
    return handler;
  }

  /** {@return the payload codec} */
  public TaskCodec<P> codec() {
    return codec;
  }

  /** {@return the default retry policy of this type's tasks, or null for the queue's} */
  public @Nullable RetryPolicy retryPolicy() {
    return retryPolicy;
  }

  /** {@return the default attempt timeout of this type's tasks, or null for the policy's} */
  public @Nullable Duration attemptTimeout() {
    return attemptTimeout;
  }

  @Override
  public String toString() {
    return "TaskType[" + handler + "]";
  }
}
