package dev.loomwork;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * How long a task waits before a retry: exponential growth from an initial delay, with jitter, capped
 * at a maximum. Immutable and thread-safe.
 *
 * <p>The delay before retry {@code n} (the first retry is 1) is
 *
 * <pre>min(max, initial × factor^(n − 1) × (1 + jitter × (2u − 1)))</pre>
 *
 * where {@code u} is uniform in [0, 1) from the queue's random source. So with jitter {@code j} the
 * delay lies in {@code [base × (1 − j), base × (1 + j)]}, and the cap is applied after the jitter:
 * no delay ever exceeds {@code max}. With jitter 0 the random source is not used.
 *
 * <pre>{@code
 * Backoff.exponential(Duration.ofSeconds(1), Duration.ofMinutes(5))  // 1 s, 2 s, 4 s, ... ± 20 %
 *     .withFactor(3)
 *     .withJitter(0.5);
 * }</pre>
 *
 * @param initial the delay before the first retry, before jitter; at least zero
 * @param factor how much each retry multiplies the delay by; at least 1
 * @param max the cap, applied after jitter; at least {@code initial}
 * @param jitter the relative spread, in [0, 1]; 0 turns jitter off
 */
public record Backoff(Duration initial, double factor, Duration max, double jitter) {

  /** The default jitter of {@link #exponential(Duration, Duration)}: ± 20 %. */
  public static final double DEFAULT_JITTER = 0.2;

  /** The default factor of {@link #exponential(Duration, Duration)}: the delay doubles. */
  public static final double DEFAULT_FACTOR = 2.0;

  /**
   * Validates the components.
   *
   * @throws NullPointerException if {@code initial} or {@code max} is null
   * @throws IllegalArgumentException if a component is out of its range
   */
  public Backoff {
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(max, "max");
    if (initial.isNegative()) {
      throw new IllegalArgumentException("initial: " + initial + " (expected: >= 0)");
    }
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("max: " + max + " (expected: >= initial " + initial + ")");
    }
    if (!(factor >= 1.0) || Double.isInfinite(factor)) {
      throw new IllegalArgumentException("factor: " + factor + " (expected: finite and >= 1)");
    }
    if (!(jitter >= 0.0 && jitter <= 1.0)) {
      throw new IllegalArgumentException("jitter: " + jitter + " (expected: in [0, 1])");
    }
  }

  /**
   * An exponential backoff that doubles from {@code initial} up to {@code max}, with ± 20 % jitter.
   *
   * @param initial the delay before the first retry; at least zero
   * @param max the cap; at least {@code initial}
   * @return the backoff
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if an argument is out of range
   */
  public static Backoff exponential(Duration initial, Duration max) {
    return new Backoff(initial, DEFAULT_FACTOR, max, DEFAULT_JITTER);
  }

  /**
   * The same delay before every retry, without jitter.
   *
   * @param delay the delay; at least zero
   * @return the backoff
   * @throws NullPointerException if {@code delay} is null
   * @throws IllegalArgumentException if {@code delay} is negative
   */
  public static Backoff fixed(Duration delay) {
    Objects.requireNonNull(delay, "delay");
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay: " + delay + " (expected: >= 0)");
    }
    return new Backoff(delay, 1.0, delay, 0.0);
  }

  /**
   * No delay at all: a failed task is ready again at once.
   *
   * @return the backoff
   */
  public static Backoff none() {
    return new Backoff(Duration.ZERO, 1.0, Duration.ZERO, 0.0);
  }

  /**
   * Returns a copy with another factor.
   *
   * @param factor at least 1
   * @return the copy
   * @throws IllegalArgumentException if {@code factor} is out of range
   */
  public Backoff withFactor(double factor) {
    return new Backoff(initial, factor, max, jitter);
  }

  /**
   * Returns a copy with another jitter.
   *
   * @param jitter in [0, 1]; 0 turns jitter off
   * @return the copy
   * @throws IllegalArgumentException if {@code jitter} is out of range
   */
  public Backoff withJitter(double jitter) {
    return new Backoff(initial, factor, max, jitter);
  }

  /**
   * Returns a copy without jitter, so delays are exact.
   *
   * @return the copy
   */
  public Backoff withoutJitter() {
    return withJitter(0.0);
  }

  /**
   * Returns a copy with another cap.
   *
   * @param max at least {@link #initial()}
   * @return the copy
   * @throws NullPointerException if {@code max} is null
   * @throws IllegalArgumentException if {@code max} is less than {@code initial}
   */
  public Backoff withMax(Duration max) {
    return new Backoff(initial, factor, max, jitter);
  }

  /**
   * Computes the delay before a retry. A pure function of its arguments: the same retry number and the
   * same random sequence give the same delay.
   *
   * @param retry the retry number: 1 for the first retry (the second attempt)
   * @param random the random source; not used when jitter is 0
   * @return the delay, between zero and {@link #max()}
   * @throws IllegalArgumentException if {@code retry} is less than 1
   * @throws NullPointerException if {@code random} is null
   */
  public Duration delay(int retry, RandomGenerator random) {
    if (retry < 1) {
      throw new IllegalArgumentException("retry: " + retry + " (expected: >= 1)");
    }
    Objects.requireNonNull(random, "random");
    double maxNanos = toNanos(max);
    double base = toNanos(initial) * Math.pow(factor, retry - 1);
    double delay = jitter == 0.0 ? base : base * (1.0 + jitter * (2.0 * random.nextDouble() - 1.0));
    return Duration.ofNanos((long) Math.min(maxNanos, delay));
  }

  private static double toNanos(Duration d) {
    // Saturate instead of overflowing: durations beyond ~292 years are all "forever" here.
    return d.compareTo(MAX_NANOS) >= 0 ? (double) Long.MAX_VALUE : (double) d.toNanos();
  }

  private static final Duration MAX_NANOS = Duration.ofNanos(Long.MAX_VALUE);
}
