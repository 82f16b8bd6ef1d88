package dev.loomwork.postgres;

import static dev.loomwork.postgres.PostgresOperations.requireText;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The value types of the store's operations: a task's {@link State}, what goes in ({@link NewTask},
 * {@link Outcome}) and what comes out ({@link Enqueued}, {@link Claim}, {@link Completion}, {@link
 * Rescue}, {@link StoredTask}, {@link Counts}).
 */
final class PostgresTypes {

  private PostgresTypes() {}

  /** A task's state as the store writes it. */
  enum State {
    READY,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    /** The text in the {@code state} column. */
    String sql() {
      return name().toLowerCase(Locale.ROOT);
    }

    static State of(String sql) {
      return valueOf(sql.toUpperCase(Locale.ROOT));
    }
  }

  /**
   * A task to insert.
   *
   * @param queue the queue that runs it
   * @param handler the handler's name
   * @param payloadJson the payload as JSON text; stored as {@code jsonb}, so it must be valid JSON
   *     and must not contain the escape of the NUL character
   * @param name a name for logs, or null
   * @param notBefore the first attempt's earliest time, or null; a past time means now. When set,
   *     {@code delay} is ignored
   * @param delay the first attempt's delay from the database's now(), when {@code notBefore} is null
   * @param maxAttempts the attempts allowed, at least 1
   * @param within the task's deadline, from the database's now() at insert; null for none
   * @param uniqueKey at most one pending or running task per queue and key; null for none
   */
  record NewTask(
      String queue,
      String handler,
      String payloadJson,
      @Nullable String name,
      @Nullable Instant notBefore,
      Duration delay,
      int maxAttempts,
      @Nullable Duration within,
      @Nullable String uniqueKey) {

    NewTask {
      requireText(queue, "queue");
      requireText(handler, "handler");
      Objects.requireNonNull(payloadJson, "payloadJson");
      Objects.requireNonNull(delay, "delay");
      if (delay.isNegative()) {
        throw new IllegalArgumentException("delay: " + delay + " (expected: >= 0)");
      }
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts: " + maxAttempts + " (expected: >= 1)");
      }
      if (within != null && (within.isNegative() || within.isZero())) {
        throw new IllegalArgumentException("within: " + within + " (expected: > 0)");
      }
      if (uniqueKey != null && uniqueKey.isEmpty()) {
        throw new IllegalArgumentException("uniqueKey: '' (expected: null or not empty)");
      }
    }

    /** A task due now, one attempt, no name, deadline or key. */
    static NewTask of(String queue, String handler, String payloadJson) {
      return new NewTask(queue, handler, payloadJson, null, null, Duration.ZERO, 1, null, null);
    }

    NewTask named(@Nullable String name) {
      return new NewTask(queue, handler, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey);
    }

    NewTask notBefore(@Nullable Instant notBefore) {
      return new NewTask(queue, handler, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey);
    }

    NewTask delay(Duration delay) {
      return new NewTask(queue, handler, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey);
    }

    NewTask maxAttempts(int maxAttempts) {
      return new NewTask(queue, handler, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey);
    }

    NewTask within(@Nullable Duration within) {
      return new NewTask(queue, handler, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey);
    }

    NewTask uniqueKey(@Nullable String uniqueKey) {
      return new NewTask(queue, handler, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey);
    }
  }

  /**
   * What an enqueue did.
   *
   * @param id the task's id: the new task's, or, for a duplicate unique key, the live task's
   * @param created false when a live task with the same queue and key already existed
   */
  record Enqueued(long id, boolean created) {}

  /**
   * A claimed task, now running with the claiming worker as its owner.
   *
   * @param attempt the attempt now starting (1 for the first)
   * @param runAt when it was due; claims take the oldest first
   */
  record Claimed(
      long id,
      String handler,
      String payloadJson,
      @Nullable String name,
      int attempt,
      int maxAttempts,
      Instant runAt,
      @Nullable Instant deadline,
      Instant createdAt,
      @Nullable String uniqueKey) {}

  /**
   * What a claim got.
   *
   * @param leaseLive false when the worker's row is gone or its lease has expired: then nothing was
   *     claimed, and the worker must stop its attempts and register again
   * @param tasks the tasks claimed, in {@code run_at, id} order
   */
  record Claim(boolean leaseLive, List<Claimed> tasks) {}

  /** How an attempt ended, as the engine's verdict decided. */
  enum Ending {
    /** The task succeeded. */
    SUCCEEDED(State.SUCCEEDED),
    /** The task failed for good. */
    FAILED(State.FAILED),
    /** The task goes back to ready, due after the outcome's delay. */
    RETRY(State.READY),
    /** The task was cancelled. */
    CANCELLED(State.CANCELLED);

    final State state;

    Ending(State state) {
      this.state = state;
    }
  }

  /**
   * One attempt's outcome.
   *
   * @param id the task
   * @param attempt the attempt that ended, as its claim returned it
   * @param ending how it ended
   * @param retryDelay for {@link Ending#RETRY}: the delay from the database's now(); else zero
   * @param errorJson the error as JSON ({@link PostgresErrorJson#errorJson}), or null; kept as {@code last_error}
   */
  record Outcome(long id, int attempt, Ending ending, Duration retryDelay, @Nullable String errorJson) {
    Outcome {
      Objects.requireNonNull(ending, "ending");
      Objects.requireNonNull(retryDelay, "retryDelay");
      if (retryDelay.isNegative()) {
        throw new IllegalArgumentException("retryDelay: " + retryDelay + " (expected: >= 0)");
      }
    }

    static Outcome succeeded(long id, int attempt) {
      return new Outcome(id, attempt, Ending.SUCCEEDED, Duration.ZERO, null);
    }

    static Outcome failed(long id, int attempt, @Nullable String errorJson) {
      return new Outcome(id, attempt, Ending.FAILED, Duration.ZERO, errorJson);
    }

    static Outcome retry(long id, int attempt, Duration delay, @Nullable String errorJson) {
      return new Outcome(id, attempt, Ending.RETRY, delay, errorJson);
    }

    static Outcome cancelled(long id, int attempt, @Nullable String errorJson) {
      return new Outcome(id, attempt, Ending.CANCELLED, Duration.ZERO, errorJson);
    }
  }

  /**
   * What a completion wrote.
   *
   * @param applied the tasks updated, with the state written: the outcome's, except {@code
   *     cancelled} for a task whose cancel was requested while it ran
   * @param fencedOut the outcomes that changed nothing: the task is no longer running this attempt
   *     for this worker (rescued, released, or the worker lost its lease). Never publish these as the
   *     task's outcome.
   */
  record Completion(List<Applied> applied, List<Outcome> fencedOut) {}

  /** A task a completion updated, and the state it now has. */
  record Applied(long id, State state) {}

  /** A running task the rescuer took from a lost worker, and the state it now has. */
  record Rescued(long id, String queue, State state, int attempt, long worker) {}

  /**
   * What one rescue did.
   *
   * @param expiredWorkers the worker rows it deleted
   * @param tasks the tasks it took back
   */
  record Rescue(List<Long> expiredWorkers, List<Rescued> tasks) {}

  /** A task's row. */
  record StoredTask(
      long id,
      String queue,
      String handler,
      String payloadJson,
      @Nullable String name,
      State state,
      Instant runAt,
      int attempt,
      int maxAttempts,
      @Nullable Instant deadline,
      @Nullable String uniqueKey,
      @Nullable Long owner,
      boolean cancelRequested,
      Instant createdAt,
      Instant updatedAt,
      @Nullable Instant attemptedAt,
      @Nullable Instant finishedAt,
      @Nullable String lastErrorJson) {}

  /**
   * A queue's tasks by state, by the database's clock.
   *
   * @param ready ready and due
   * @param waiting ready but not yet due (a not-before time or a retry's backoff)
   */
  record Counts(long ready, long waiting, long running, long succeeded, long failed, long cancelled) {}
}
