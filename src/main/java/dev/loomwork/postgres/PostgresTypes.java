package dev.loomwork.postgres;

import static dev.loomwork.postgres.PostgresOperations.requireText;

import dev.loomwork.internal.DurableBackend;
import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.internal.DurableBackend.Counts;
import dev.loomwork.internal.DurableBackend.Ending;
import dev.loomwork.internal.DurableBackend.Outcome;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The SQL side's own value types: a task's {@link State}, a task to insert ({@link NewTask}), and
 * what comes out ({@link Enqueued}, {@link Claim}, {@link Completion}, {@link Rescue}, {@link
 * StoredTask}). The records the engine exchanges with the store ({@link Claimed}, {@link Ending},
 * {@link Outcome}, {@link Counts}) are the seam's, {@link DurableBackend}'s, and exist once.
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
   * @param version the payload's version; only workers that registered the handler at this version
   *     or a later one claim it
   * @param payloadJson the payload as JSON text; stored as {@code jsonb}, so it must be valid JSON
   *     and must not contain the escape of the NUL character
   * @param name a name for logs, or null
   * @param notBefore the first attempt's earliest time, or null; a past time means now. When set,
   *     {@code delay} is ignored
   * @param delay the first attempt's delay from the database's now(), when {@code notBefore} is null
   * @param maxAttempts the attempts allowed, at least 1
   * @param within the task's deadline, from the database's now() at insert; null for none
   * @param uniqueKey at most one pending or running task per queue and key; null for none
   * @param traceparent the W3C trace context of the enqueue, or null when it was not traced
   * @param tracestate the W3C trace state of the enqueue, or null
   */
  record NewTask(
      String queue,
      String handler,
      int version,
      String payloadJson,
      @Nullable String name,
      @Nullable Instant notBefore,
      Duration delay,
      int maxAttempts,
      @Nullable Duration within,
      @Nullable String uniqueKey,
      @Nullable String traceparent,
      @Nullable String tracestate) {

    NewTask {
      requireText(queue, "queue");
      requireText(handler, "handler");
      if (version < 1) {
        throw new IllegalArgumentException("version: " + version + " (expected: >= 1)");
      }
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
      return new NewTask(queue, handler, 1, payloadJson, null, null, Duration.ZERO, 1, null, null, null, null);
    }

    NewTask version(int version) {
      return new NewTask(queue, handler, version, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey, traceparent, tracestate);
    }

    NewTask named(@Nullable String name) {
      return new NewTask(queue, handler, version, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey, traceparent, tracestate);
    }

    NewTask notBefore(@Nullable Instant notBefore) {
      return new NewTask(queue, handler, version, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey, traceparent, tracestate);
    }

    NewTask delay(Duration delay) {
      return new NewTask(queue, handler, version, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey, traceparent, tracestate);
    }

    NewTask maxAttempts(int maxAttempts) {
      return new NewTask(queue, handler, version, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey, traceparent, tracestate);
    }

    NewTask within(@Nullable Duration within) {
      return new NewTask(queue, handler, version, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey, traceparent, tracestate);
    }

    NewTask traced(@Nullable String traceparent, @Nullable String tracestate) {
      return new NewTask(queue, handler, version, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey, traceparent, tracestate);
    }

    NewTask uniqueKey(@Nullable String uniqueKey) {
      return new NewTask(queue, handler, version, payloadJson, name, notBefore, delay, maxAttempts, within, uniqueKey, traceparent, tracestate);
    }
  }

  /**
   * What an enqueue did.
   *
   * @param id the task's id: the new task's, or, for a duplicate unique key, the live task's
   * @param created false when a live task with the same queue and key already existed
   * @param backend the caller's backend pid when the enqueue took its transaction's wake-up lock
   *     ({@link Debouncer.Wake#HOLD}), else 0
   */
  record Enqueued(long id, boolean created, int backend) {}

  /**
   * What a claim got.
   *
   * @param leaseLive false when the worker's row is gone or its lease has expired: then nothing was
   *     claimed, and the worker must stop its attempts and register again
   * @param tasks the tasks claimed, in {@code run_at, id} order
   */
  record Claim(boolean leaseLive, List<Claimed> tasks) {}

  /** The state an attempt's ending writes: a retry is ready again. */
  static State state(Ending ending) {
    return switch (ending) {
      case SUCCEEDED -> State.SUCCEEDED;
      case FAILED -> State.FAILED;
      case RETRY -> State.READY;
      case CANCELLED -> State.CANCELLED;
    };
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
   * A worker row the rescuer deleted.
   *
   * @param late how long after its lease expired the rescue ran, by the database's clock
   */
  record Expired(long id, String queue, Duration late) {}

  /**
   * What one rescue did.
   *
   * @param expiredWorkers the worker rows it deleted
   * @param tasks the tasks it took back
   */
  record Rescue(List<Expired> expiredWorkers, List<Rescued> tasks) {}

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
}
