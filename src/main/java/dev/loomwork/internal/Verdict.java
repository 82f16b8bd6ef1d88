package dev.loomwork.internal;

import dev.loomwork.AttemptTimeoutException;
import dev.loomwork.DeadlineExceededException;
import dev.loomwork.RetryPolicy;
import dev.loomwork.WorkQueueListener.AttemptOutcome;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Objects;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * What one attempt means for its task: the retry rules of the queue, as one function of the attempt's
 * end, the task's policy and deadline, and the queue's clock and random source. It takes no lock,
 * reads no shared state and changes nothing; the attempt computes it before it takes the queue's lock
 * (see {@link QueueState#endAttempt}), so nothing that can throw runs between the first and the last
 * change to the books. The queue's lock may still turn a verdict into a cancellation: a task whose
 * cancel was requested, or a retry while the queue stops.
 *
 * @param outcome how the attempt ended, for listeners and metrics (meaningless if it never ran)
 * @param fate what happens to the task
 * @param error the task's error: the attempt's failure, a timeout or deadline error, or null
 * @param retryDelayNanos with {@link Fate#RETRY}, how long to wait before the next attempt
 * @param retryAt with {@link Fate#RETRY}, when the next attempt is due, by the queue's clock
 */
record Verdict(
    AttemptOutcome outcome,
    Fate fate,
    @Nullable Throwable error,
    long retryDelayNanos,
    @Nullable Instant retryAt) {

  /** What happens to the task after an attempt. */
  enum Fate {
    SUCCEEDED,
    FAILED,
    CANCELLED,
    RETRY,
    /**
     * Only a durable queue's books decide this: the task leaves this process with no end here,
     * given back to the store (a cutting shutdown) or left to it (a lost lease).
     */
    RELEASED
  }

  /** The verdict of every successful attempt: one shared instance, nothing allocated. */
  static final Verdict SUCCESS = new Verdict(AttemptOutcome.SUCCEEDED, Fate.SUCCEEDED, null, 0, null);

  /**
   * Judges one attempt.
   *
   * @param ran whether the body was called (false: the attempt was cut before it started)
   * @param failure what the body threw, or null if it returned
   * @param cut why the attempt was cut, or null if the body returned first
   * @param policy the task's resolved policy
   * @param attempt the attempt's number, from 1
   * @param task the task's name, for error messages
   * @param deadline the task's deadline, or null
   * @param lastError the task's error before this attempt (the cause of a deadline error)
   * @param clock the queue's clock, read only to schedule a retry
   * @param random the queue's random source, read only to draw a retry's jitter
   * @return the verdict; a clock or random source that throws makes the task fail with that error
   */
  static Verdict of(
      boolean ran,
      @Nullable Throwable failure,
      @Nullable Cut cut,
      RetryPolicy policy,
      int attempt,
      String task,
      @Nullable Instant deadline,
      @Nullable Throwable lastError,
      InstantSource clock,
      RandomGenerator random) {
    if (cut == null && failure == null && ran) {
      return SUCCESS;
    }
    // A body that returned after being cut (it swallowed the interrupt) does not count as a success:
    // the cut came first. The structured runner sees the same, as its join throws.
    if (cut == Cut.CANCEL) {
      return new Verdict(AttemptOutcome.CANCELLED, Fate.CANCELLED, failure, 0, null);
    }
    if (cut == Cut.DEADLINE) {
      Throwable e = new DeadlineExceededException(task, Objects.requireNonNull(deadline), lastError);
      return new Verdict(AttemptOutcome.CANCELLED, Fate.FAILED, e, 0, null);
    }
    AttemptOutcome outcome;
    Throwable error;
    if (cut == Cut.TIMEOUT) {
      outcome = AttemptOutcome.TIMED_OUT;
      error = new AttemptTimeoutException(task, attempt, Objects.requireNonNull(policy.attemptTimeout()));
      if (failure != null) {
        error.addSuppressed(failure);
      }
    } else {
      outcome = AttemptOutcome.FAILED;
      error = Objects.requireNonNull(failure, "an attempt that was not cut and did not return failed");
    }
    if (attempt > policy.retries() || !isRetryable(policy, error, task)) {
      return new Verdict(outcome, Fate.FAILED, error, 0, null);
    }
    Duration delay;
    Instant retryAt;
    try {
      delay = policy.backoff().delay(attempt, random);
      retryAt = Timers.plus(clock.instant(), delay);
    } catch (Throwable e) {
      return new Verdict(outcome, Fate.FAILED, e, 0, null); // the queue's clock or random threw
    }
    if (deadline != null && !retryAt.isBefore(deadline)) {
      Throwable e = new DeadlineExceededException(task, deadline, error);
      return new Verdict(outcome, Fate.FAILED, e, 0, null);
    }
    return new Verdict(outcome, Fate.RETRY, error, Timers.nanos(delay), retryAt);
  }

  private static boolean isRetryable(RetryPolicy policy, Throwable error, String task) {
    try {
      return policy.isRetryable(error);
    } catch (Throwable e) {
      // The task then fails with its own error, which the task log reports (its stack trace once per
      // kind); this line names the predicate's fault without a trace of its own per task.
      error.addSuppressed(e);
      Log.TASKS.warn("task '{}': retryIf threw {} on {}; not retrying (suppressed in the task's error)",
          task, e.toString(), error.toString());
      return false;
    }
  }
}
