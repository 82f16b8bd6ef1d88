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
  private final int version;

  private TaskType(
      String handler,
      TaskCodec<P> codec,
      @Nullable RetryPolicy retryPolicy,
      @Nullable Duration attemptTimeout,
      int version) {
    this.handler = handler;
    this.codec = codec;
    this.retryPolicy = retryPolicy;
    this.attemptTimeout = attemptTimeout;
    this.version = version;
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
    return new TaskType<>(handler, codec, null, null, 1);
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
    return new TaskType<>(handler, codec, policy, attemptTimeout, version);
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
    return new TaskType<>(handler, codec, retryPolicy, timeout, version);
  }

  /**
   * Returns a copy whose payloads are of version {@code version}: the version of the payload's shape
   * that this type's codec writes, and the newest it reads. A durable store writes it with each task,
   * and a worker claims a task only if the type it registered under that name has a version at least
   * the task's: during a rolling deploy, a worker of the old version leaves the new payloads to a
   * worker of the new version, which reads old and new. Bump it when a payload change would make an
   * older codec fail to decode; a change every older codec still reads needs no bump. Queues in
   * memory ignore it (their tasks are read by the process that wrote them).
   *
   * @param version the payload version, 1 (the default) or more
   * @return the copy
   * @throws IllegalArgumentException if {@code version} is less than 1
   */
  public TaskType<P> withVersion(int version) {
    if (version < 1) {
      throw new IllegalArgumentException("version: " + version + " (expected: >= 1)");
    }
    return new TaskType<>(handler, codec, retryPolicy, attemptTimeout, version);
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

  /** {@return the payload version, 1 unless {@link #withVersion(int)} set another} */
  public int version() {
    return version;
  }

  @Override
  public String toString() {
    return version == 1 ? "TaskType[" + handler + "]" : "TaskType[" + handler + " v" + version + "]";
  }
}
