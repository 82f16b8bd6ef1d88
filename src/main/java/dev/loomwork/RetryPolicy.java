package dev.loomwork;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * When and how a failed task is tried again. Immutable and thread-safe.
 *
 * <p>A task makes at most {@code retries + 1} attempts. After a failed attempt it is retried only if
 * retries are left, the failure is not a {@link NonRetryableException}, and {@link #retryIf()} accepts
 * the failure; otherwise it fails at once with that failure as its {@link Task#error() error}. An
 * attempt that runs past {@link #attemptTimeout()} fails with an {@link AttemptTimeoutException},
 * which the same rules then judge.
 *
 * <pre>{@code
 * RetryPolicy.defaults()
 *     .withRetries(5)
 *     .withBackoff(Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(30)))
 *     .withRetryIf(e -> !(e instanceof IllegalArgumentException))
 *     .withAttemptTimeout(Duration.ofSeconds(10));
 * }</pre>
 *
 * @param retries how many retries after the first attempt; at least zero
 * @param backoff the delay before each retry
 * @param retryIf which failures are retried
 * @param attemptTimeout the longest an attempt may run, or null for no limit
 */
public record RetryPolicy(
    int retries,
    Backoff backoff,
    Predicate<? super Throwable> retryIf,
    @Nullable Duration attemptTimeout) {

  /** The default {@link #retryIf()}: any {@link Exception}; an {@link Error} is never retried. */
  public static final Predicate<Throwable> EXCEPTIONS = e -> e instanceof Exception;

  private static final RetryPolicy DEFAULTS =
      new RetryPolicy(
          3, Backoff.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)), EXCEPTIONS, null);

  /**
   * Validates the components.
   *
   * @throws NullPointerException if {@code backoff} or {@code retryIf} is null
   * @throws IllegalArgumentException if {@code retries} is negative or {@code attemptTimeout} is not
   *     positive
   */
  public RetryPolicy {
    if (retries < 0) {
      throw new IllegalArgumentException("retries: " + retries + " (expected: >= 0)");
    }
    Objects.requireNonNull(backoff, "backoff");
    Objects.requireNonNull(retryIf, "retryIf");
    if (attemptTimeout != null && (attemptTimeout.isNegative() || attemptTimeout.isZero())) {
      throw new IllegalArgumentException("attemptTimeout: " + attemptTimeout + " (expected: > 0)");
    }
  }

  /**
   * The default policy: 3 retries (4 attempts), exponential backoff from 1 s doubling to at most
   * 1 min with ± 20 % jitter, retry on any {@link Exception}, no attempt timeout.
   *
   * @return the default policy
   */
  public static RetryPolicy defaults() {
    return DEFAULTS;
  }

  /**
   * A policy that never retries: one attempt, then the task is done.
   *
   * @return the policy
   */
  public static RetryPolicy noRetries() {
    return DEFAULTS.withRetries(0);
  }

  /**
   * Returns a copy with another number of retries.
   *
   * @param retries retries after the first attempt; at least zero
   * @return the copy
   * @throws IllegalArgumentException if {@code retries} is negative
   */
  public RetryPolicy withRetries(int retries) {
    return new RetryPolicy(retries, backoff, retryIf, attemptTimeout);
  }

  /**
   * Returns a copy with another backoff.
   *
   * @param backoff the delay before each retry
   * @return the copy
   * @throws NullPointerException if {@code backoff} is null
   */
  public RetryPolicy withBackoff(Backoff backoff) {
    return new RetryPolicy(retries, backoff, retryIf, attemptTimeout);
  }

  /**
   * Returns a copy that retries only the failures {@code retryIf} accepts.
   *
   * @param retryIf a predicate on the failure; it must not throw
   * @return the copy
   * @throws NullPointerException if {@code retryIf} is null
   */
  public RetryPolicy withRetryIf(Predicate<? super Throwable> retryIf) {
    return new RetryPolicy(retries, backoff, retryIf, attemptTimeout);
  }

  /**
   * Returns a copy whose attempts are cut after {@code attemptTimeout}.
   *
   * @param attemptTimeout the longest an attempt may run; positive
   * @return the copy
   * @throws NullPointerException if {@code attemptTimeout} is null
   * @throws IllegalArgumentException if {@code attemptTimeout} is not positive
   */
  public RetryPolicy withAttemptTimeout(Duration attemptTimeout) {
    Objects.requireNonNull(attemptTimeout, "attemptTimeout");
    return new RetryPolicy(retries, backoff, retryIf, attemptTimeout);
  }

  /**
   * Returns a copy without an attempt timeout.
   *
   * @return the copy
   */
  public RetryPolicy withoutAttemptTimeout() {
    return new RetryPolicy(retries, backoff, retryIf, null);
  }

  /**
   * Tells whether a failure may be retried, retries left aside: it is not a {@link
   * NonRetryableException} and {@link #retryIf()} accepts it.
   *
   * @param failure the failure of an attempt
   * @return true if the failure is retryable
   */
  public boolean isRetryable(Throwable failure) {
    return !(failure instanceof NonRetryableException) && retryIf.test(failure);
  }
}
