package dev.loomwork.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.loomwork.AttemptTimeoutException;
import dev.loomwork.Backoff;
import dev.loomwork.DeadlineExceededException;
import dev.loomwork.NonRetryableException;
import dev.loomwork.RetryPolicy;
import dev.loomwork.WorkQueueListener.AttemptOutcome;
import dev.loomwork.internal.Verdict.Fate;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The retry rules, row by row: {@link Verdict#of} is a function, so each row is one call. */
class VerdictTest {
  private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");
  private static final InstantSource CLOCK = InstantSource.fixed(NOW);
  private static final RandomGenerator RANDOM = RandomGenerator.of("L64X128MixRandom");
  private static final IOException IO = new IOException("503");
  private static final IllegalStateException LAST = new IllegalStateException("last attempt's error");
  private static final RuntimeException CLOCK_BROKE = new RuntimeException("clock broke");
  private static final RuntimeException RANDOM_BROKE = new RuntimeException("random broke");
  /** 3 retries, a fixed 10 ms backoff, a 1 s attempt timeout. */
  private static final RetryPolicy POLICY =
      RetryPolicy.defaults()
          .withBackoff(Backoff.fixed(Duration.ofMillis(10)))
          .withAttemptTimeout(Duration.ofSeconds(1));

  /** One row: the attempt's end and circumstances, and what the verdict must be. */
  record Row(
      String name,
      boolean ran,
      @Nullable Throwable failure,
      @Nullable Cut cut,
      RetryPolicy policy,
      int attempt,
      @Nullable Instant deadline,
      InstantSource clock,
      RandomGenerator random,
      AttemptOutcome outcome,
      Fate fate,
      Consumer<Verdict> check) {
    Row(String name, @Nullable Throwable failure, @Nullable Cut cut, int attempt, AttemptOutcome outcome,
        Fate fate, Consumer<Verdict> check) {
      this(name, true, failure, cut, POLICY, attempt, null, CLOCK, RANDOM, outcome, fate, check);
    }

    Row with(RetryPolicy p) {
      return new Row(name, ran, failure, cut, p, attempt, deadline, clock, random, outcome, fate, check);
    }

    Row deadline(Instant d) {
      return new Row(name, ran, failure, cut, policy, attempt, d, clock, random, outcome, fate, check);
    }

    Row sources(InstantSource c, RandomGenerator r) {
      return new Row(name, ran, failure, cut, policy, attempt, deadline, c, r, outcome, fate, check);
    }

    Row notStarted() {
      return new Row(name, false, failure, cut, policy, attempt, deadline, clock, random, outcome, fate, check);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Row> rows() {
    Consumer<Verdict> io = v -> assertSame(IO, v.error());
    Consumer<Verdict> retryIn10ms =
        v -> {
          assertSame(IO, v.error());
          assertEquals(Duration.ofMillis(10).toNanos(), v.retryDelayNanos());
          assertEquals(NOW.plusMillis(10), v.retryAt());
        };
    RandomGenerator throwingRandom =
        new RandomGenerator() {
          @Override
          public long nextLong() {
            throw RANDOM_BROKE;
          }
        };
    InstantSource throwingClock =
        () -> {
          throw CLOCK_BROKE;
        };
    return Stream.of(
        new Row("success", null, null, 1, AttemptOutcome.SUCCEEDED, Fate.SUCCEEDED,
            v -> assertSame(Verdict.SUCCESS, v)),
        new Row("failure with retries left", IO, null, 1, AttemptOutcome.FAILED, Fate.RETRY, retryIn10ms),
        new Row("failure on the last retry", IO, null, 4, AttemptOutcome.FAILED, Fate.FAILED, io),
        new Row("no retries at all", IO, null, 1, AttemptOutcome.FAILED, Fate.FAILED, io)
            .with(POLICY.withRetries(0)),
        new Row("non-retryable exception", new NonRetryableException("bad payload"), null, 1,
            AttemptOutcome.FAILED, Fate.FAILED, v -> assertInstanceOf(NonRetryableException.class, v.error())),
        new Row("an Error never retries", new AssertionError("boom"), null, 1, AttemptOutcome.FAILED,
            Fate.FAILED, v -> assertInstanceOf(AssertionError.class, v.error())),
        new Row("retryIf says no", IO, null, 1, AttemptOutcome.FAILED, Fate.FAILED, io)
            .with(POLICY.withRetryIf(e -> false)),
        new Row("retryIf throws: not retried, its fault suppressed in the error", new IOException("502"),
            null, 1, AttemptOutcome.FAILED, Fate.FAILED,
            v -> {
              assertEquals("502", v.error().getMessage());
              assertEquals("predicate broke", v.error().getSuppressed()[0].getMessage());
            })
            .with(POLICY.withRetryIf(e -> { throw new IllegalStateException("predicate broke"); })),
        new Row("zero backoff retries at once", IO, null, 1, AttemptOutcome.FAILED, Fate.RETRY,
            v -> assertEquals(0, v.retryDelayNanos()))
            .with(POLICY.withBackoff(Backoff.none())),
        new Row("timeout with retries left", new InterruptedException(), Cut.TIMEOUT, 1,
            AttemptOutcome.TIMED_OUT, Fate.RETRY,
            v -> {
              assertInstanceOf(AttemptTimeoutException.class, v.error());
              assertInstanceOf(InterruptedException.class, v.error().getSuppressed()[0]);
            }),
        new Row("timeout on the last retry", null, Cut.TIMEOUT, 4, AttemptOutcome.TIMED_OUT, Fate.FAILED,
            v -> assertInstanceOf(AttemptTimeoutException.class, v.error())),
        new Row("cancelled", new InterruptedException(), Cut.CANCEL, 1, AttemptOutcome.CANCELLED,
            Fate.CANCELLED, v -> assertEquals(0, v.retryDelayNanos())),
        new Row("returned after the cut: not a success", null, Cut.CANCEL, 1, AttemptOutcome.CANCELLED,
            Fate.CANCELLED, v -> {}),
        new Row("cut before it started", null, Cut.CANCEL, 1, AttemptOutcome.CANCELLED, Fate.CANCELLED,
            v -> {}).notStarted(),
        new Row("cut at the deadline", new InterruptedException(), Cut.DEADLINE, 2,
            AttemptOutcome.CANCELLED, Fate.FAILED,
            v -> {
              DeadlineExceededException e = assertInstanceOf(DeadlineExceededException.class, v.error());
              assertSame(LAST, e.getCause());
            }).deadline(NOW),
        new Row("retry would start after the deadline", IO, null, 1, AttemptOutcome.FAILED, Fate.FAILED,
            v -> assertSame(IO, assertInstanceOf(DeadlineExceededException.class, v.error()).getCause()))
            .deadline(NOW.plusMillis(5)),
        new Row("retry due before the deadline", IO, null, 1, AttemptOutcome.FAILED, Fate.RETRY, retryIn10ms)
            .deadline(NOW.plusSeconds(1)),
        new Row("the clock throws", IO, null, 1, AttemptOutcome.FAILED, Fate.FAILED,
            v -> assertSame(CLOCK_BROKE, v.error())).sources(throwingClock, RANDOM),
        new Row("the random source throws", IO, null, 1, AttemptOutcome.FAILED, Fate.FAILED,
            v -> assertSame(RANDOM_BROKE, v.error()))
            .with(POLICY.withBackoff(Backoff.exponential(Duration.ofMillis(10), Duration.ofSeconds(1))))
            .sources(CLOCK, throwingRandom),
        new Row("a backoff of centuries saturates", IO, null, 1, AttemptOutcome.FAILED, Fate.RETRY,
            v -> assertEquals(Long.MAX_VALUE, v.retryDelayNanos()))
            .with(POLICY.withBackoff(Backoff.fixed(Duration.ofSeconds(Long.MAX_VALUE)))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void verdict(Row row) {
    Verdict v =
        Verdict.of(
            row.ran(), row.failure(), row.cut(), row.policy(), row.attempt(), "task-1", row.deadline(),
            LAST, row.clock(), row.random());
    assertEquals(row.fate(), v.fate(), "fate");
    assertEquals(row.outcome(), v.outcome(), "attempt outcome");
    if (row.fate() != Fate.RETRY) {
      assertEquals(null, v.retryAt(), "a verdict that is not a retry has no retry time");
    }
    row.check().accept(v);
  }
}
