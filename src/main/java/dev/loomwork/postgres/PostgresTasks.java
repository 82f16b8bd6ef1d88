package dev.loomwork.postgres;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * The SQL operations of loomwork's PostgreSQL store, one method per operation, over the tables of
 * {@link PostgresSchema}. Each operation that DURABLE.md makes one statement is one statement; the
 * ones behind an advisory lock are the lock and that statement in one transaction.
 *
 * <p>Operations on the store's own connections borrow one from the {@link DataSource} per call and
 * leave it as they found it: on an auto-commit connection the statement commits itself; otherwise
 * the operation commits (or rolls back) before it returns. Nothing holds a connection or a
 * transaction between calls, so an attempt never holds one of loomwork's. {@link
 * #enqueue(Connection, NewTask)} is the exception: it runs on the caller's connection and does
 * nothing else to it.
 *
 * <p>Time: every expiry and delay is computed with the database's {@code now()} (the start of the
 * statement's transaction), never with this process's clock. Only {@link NewTask#notBefore()}, an
 * absolute time the application chose, comes from outside.
 *
 * <p>This class is the foundation the engine's PostgreSQL store is built on; it is not public API.
 * Thread-safe: it has no state but the data source.
 */
final class PostgresTasks {

  /** The transaction-scoped advisory lock that lets one rescuer run at a time. */
  static final long RESCUE_LOCK = PostgresSchema.MIGRATION_LOCK + 1;

  /** The transaction-scoped advisory lock of retention pruning (the maintenance lock). */
  static final long PRUNE_LOCK = PostgresSchema.MIGRATION_LOCK + 2;

  /** The error type the rescuer records for an attempt whose worker lost its lease. */
  static final String WORKER_LOST = "dev.loomwork.postgres.WorkerLost";

  /**
   * Delays and durations beyond this are clamped to it: 7,000 years is "never", and keeps every time
   * the store writes within four-digit years (a longer {@code within} means no deadline).
   */
  static final Duration MAX_DURATION = Duration.ofDays(365L * 7_000);

  /** Times beyond this are clamped to it (PostgreSQL's own range ends in the year 294276). */
  static final Instant MAX_INSTANT = Instant.parse("9999-12-31T23:59:59Z");

  /** How often an enqueue with a unique key re-runs its statement when it raced a commit. */
  static final int UNIQUE_RETRIES = 16;

  /** The longest channel name PostgreSQL accepts (NAMEDATALEN - 1 bytes). */
  static final int MAX_CHANNEL_BYTES = 63;

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

  private final DataSource dataSource;

  /**
   * @param dataSource where the schema lives; the store borrows one connection per operation
   */
  PostgresTasks(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  // ---------------------------------------------------------------------------------------------
  // Enqueue

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

  private static final String INSERT_COLUMNS =
      "INSERT INTO loomwork_task (queue, handler, payload, name, run_at, max_attempts, deadline, unique_key)"
          + " VALUES (?, ?, ?::jsonb, ?,"
          + " greatest(coalesce(?::timestamptz, '-infinity'), now() + ?::bigint * interval '1 microsecond'),"
          + " ?, now() + ?::bigint * interval '1 microsecond', ?)";

  private static final String ENQUEUE = INSERT_COLUMNS + " RETURNING id";

  /*
   * With a unique key: ON CONFLICT on the partial unique index (its predicate repeated, as the
   * inference needs), and in the same statement the live task that won. A conflicting row that
   * committed after this statement's snapshot is invisible to the second branch, so the statement
   * then returns nothing and runs again (in READ COMMITTED, with a new snapshot). In REPEATABLE READ
   * or SERIALIZABLE, PostgreSQL raises a serialization failure for that case instead.
   */
  private static final String ENQUEUE_UNIQUE =
      "WITH ins AS ("
          + INSERT_COLUMNS
          + " ON CONFLICT (queue, unique_key)"
          + " WHERE state IN ('ready', 'running') AND unique_key IS NOT NULL DO NOTHING"
          + " RETURNING id)"
          + " SELECT id, true FROM ins"
          + " UNION ALL"
          + " SELECT id, false FROM loomwork_task"
          + " WHERE queue = ? AND unique_key = ? AND state IN ('ready', 'running')"
          + " AND NOT EXISTS (SELECT 1 FROM ins)";

  /**
   * Inserts a task on the caller's connection, in the caller's transaction: the task exists if and
   * only if the caller commits. Does nothing else to the connection: no commit, rollback, savepoint
   * or close, no change of auto-commit or isolation. On an auto-commit connection the insert commits
   * itself, as any statement would.
   *
   * <p>With a unique key, a live task (ready or running) of the same queue and key makes this a
   * duplicate: nothing is inserted and its id is returned. An insert racing another transaction's
   * uncommitted insert of the same key waits for it; if it commits, this returns its id; if it
   * rolls back, this inserts.
   *
   * @param caller the application's connection; any statement error aborts its transaction, as an
   *     error of its own statement would
   * @param task the task
   * @return the task's id, and whether it was inserted
   * @throws SQLException as the database raises it (for instance, a payload that is not JSON)
   */
  static Enqueued enqueue(Connection caller, NewTask task) throws SQLException {
    if (task.uniqueKey() == null) {
      try (PreparedStatement s = caller.prepareStatement(ENQUEUE)) {
        bindInsert(s, task);
        try (ResultSet r = s.executeQuery()) {
          r.next();
          return new Enqueued(r.getLong(1), true);
        }
      }
    }
    try (PreparedStatement s = caller.prepareStatement(ENQUEUE_UNIQUE)) {
      int i = bindInsert(s, task);
      s.setString(i++, task.queue());
      s.setString(i, task.uniqueKey());
      for (int tries = 0; tries < UNIQUE_RETRIES; tries++) {
        try (ResultSet r = s.executeQuery()) {
          if (r.next()) {
            return new Enqueued(r.getLong(1), r.getBoolean(2));
          }
        }
      }
    }
    throw new SQLException(
        "could not enqueue a task with unique key '" + task.uniqueKey() + "' on queue '" + task.queue()
            + "': " + UNIQUE_RETRIES + " tries each met a live task that had ended by the next",
        "40001");
  }

  /**
   * Inserts a task in a transaction of its own, on a connection of the store's data source.
   *
   * @see #enqueue(Connection, NewTask)
   */
  Enqueued enqueue(NewTask task) throws SQLException {
    return autoCommitted(c -> enqueue(c, task));
  }

  private static int bindInsert(PreparedStatement s, NewTask t) throws SQLException {
    int i = 1;
    s.setString(i++, t.queue());
    s.setString(i++, t.handler());
    s.setString(i++, t.payloadJson());
    s.setString(i++, t.name());
    setInstant(s, i++, t.notBefore());
    s.setLong(i++, t.notBefore() != null ? 0 : micros(t.delay()));
    s.setInt(i++, t.maxAttempts());
    if (t.within() == null || t.within().compareTo(MAX_DURATION) >= 0) {
      s.setNull(i++, Types.BIGINT);
    } else {
      s.setLong(i++, micros(t.within()));
    }
    s.setString(i++, t.uniqueKey());
    return i;
  }

  // ---------------------------------------------------------------------------------------------
  // Claim

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

  /*
   * One statement. The MATERIALIZED CTE runs once (a plain IN (SELECT ... LIMIT n FOR UPDATE SKIP
   * LOCKED) may be re-run by the planner and claim more than n). SKIP LOCKED passes over rows
   * another claim holds; in READ COMMITTED, a row another claim updated and committed after this
   * statement's snapshot is re-checked against the WHERE clause when locked, and skipped as running.
   * A worker whose lease is gone or expired claims nothing.
   */
  private static final String CLAIM =
      "WITH lease AS ("
          + " SELECT id FROM loomwork_worker WHERE id = ? AND expires_at > now()"
          + "), due AS MATERIALIZED ("
          + " SELECT t.id FROM loomwork_task t"
          + " WHERE t.state = 'ready' AND t.queue = ? AND t.run_at <= now() AND t.handler = ANY (?)"
          + " AND EXISTS (SELECT 1 FROM lease)"
          + " ORDER BY t.run_at, t.id"
          + " LIMIT ?"
          + " FOR UPDATE SKIP LOCKED"
          + "), claimed AS ("
          + " UPDATE loomwork_task t"
          + " SET state = 'running', owner = ?, attempt = t.attempt + 1, attempted_at = now(), updated_at = now()"
          + " FROM due WHERE t.id = due.id"
          + " RETURNING t.id, t.handler, t.payload::text AS payload, t.name, t.attempt, t.max_attempts,"
          + " t.run_at, t.deadline, t.created_at, t.unique_key"
          + ")"
          + " SELECT EXISTS (SELECT 1 FROM lease), c.*"
          + " FROM (VALUES (1)) AS one (x) LEFT JOIN claimed c ON true"
          + " ORDER BY c.run_at, c.id";

  /**
   * Claims up to {@code n} due ready tasks of a queue whose handlers are in {@code handlers}, oldest
   * {@code run_at} first, marks them running with the worker as owner and the attempt number
   * incremented, and commits, in one statement. Never waits for a row another claim holds.
   *
   * @param queue the queue
   * @param handlers the handlers this process registered on the queue; tasks of others stay
   * @param workerId the claiming worker, whose lease must be live
   * @param n at most this many; never more than the worker's free permits
   */
  Claim claim(String queue, Collection<String> handlers, long workerId, int n) throws SQLException {
    requireText(queue, "queue");
    if (n < 0) {
      throw new IllegalArgumentException("n: " + n + " (expected: >= 0)");
    }
    if (n == 0 || handlers.isEmpty()) {
      return new Claim(true, List.of());
    }
    return autoCommitted(
        c -> {
          try (PreparedStatement s = c.prepareStatement(CLAIM)) {
            s.setLong(1, workerId);
            s.setString(2, queue);
            s.setArray(3, c.createArrayOf("text", handlers.toArray()));
            s.setInt(4, n);
            s.setLong(5, workerId);
            List<Claimed> tasks = new ArrayList<>();
            boolean live = false;
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                live = r.getBoolean(1);
                long id = r.getLong(2);
                if (r.wasNull()) {
                  continue;
                }
                tasks.add(
                    new Claimed(
                        id,
                        r.getString(3),
                        r.getString(4),
                        r.getString(5),
                        r.getInt(6),
                        r.getInt(7),
                        instant(r, 8),
                        nullableInstant(r, 9),
                        instant(r, 10),
                        r.getString(11)));
              }
            }
            return new Claim(live, List.copyOf(tasks));
          }
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Complete

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
   * @param errorJson the error as JSON ({@link #errorJson}), or null; kept as {@code last_error}
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

  /*
   * One statement per batch: the outcomes as parallel arrays, unnested, joined to their rows. The
   * fence is state = 'running' AND owner AND attempt: an attempt that was rescued, released or
   * superseded updates nothing. A cancel requested while the attempt ran wins over its outcome.
   */
  private static final String COMPLETE =
      "UPDATE loomwork_task t SET"
          + " state = CASE WHEN t.cancel_requested THEN 'cancelled' ELSE o.state END,"
          + " owner = NULL,"
          + " run_at = CASE WHEN o.state = 'ready' AND NOT t.cancel_requested"
          + "   THEN now() + o.delay * interval '1 microsecond' ELSE t.run_at END,"
          + " finished_at = CASE WHEN o.state = 'ready' AND NOT t.cancel_requested THEN NULL ELSE now() END,"
          + " last_error = coalesce(o.error::jsonb, t.last_error),"
          + " updated_at = now()"
          + " FROM unnest(?::bigint[], ?::integer[], ?::text[], ?::bigint[], ?::text[])"
          + "   AS o (id, attempt, state, delay, error)"
          + " WHERE t.id = o.id AND t.state = 'running' AND t.owner = ? AND t.attempt = o.attempt"
          + " RETURNING t.id, t.state";

  /**
   * Writes a batch of one worker's outcomes in one statement and commits. Each is fenced: it applies
   * only while the task is running the same attempt for the same worker.
   *
   * @param workerId the worker whose attempts ended
   * @param outcomes at most one per task
   * @return what was applied and what was fenced out
   */
  Completion complete(long workerId, List<Outcome> outcomes) throws SQLException {
    if (outcomes.isEmpty()) {
      return new Completion(List.of(), List.of());
    }
    int size = outcomes.size();
    Long[] ids = new Long[size];
    Integer[] attempts = new Integer[size];
    String[] states = new String[size];
    Long[] delays = new Long[size];
    String[] errors = new String[size];
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < size; i++) {
      Outcome o = outcomes.get(i);
      if (!seen.add(o.id())) {
        throw new IllegalArgumentException("two outcomes for task " + o.id() + " in one batch");
      }
      ids[i] = o.id();
      attempts[i] = o.attempt();
      states[i] = o.ending().state.sql();
      delays[i] = micros(o.retryDelay());
      errors[i] = o.errorJson();
    }
    return autoCommitted(
        c -> {
          try (PreparedStatement s = c.prepareStatement(COMPLETE)) {
            s.setArray(1, c.createArrayOf("int8", ids));
            s.setArray(2, c.createArrayOf("int4", attempts));
            s.setArray(3, c.createArrayOf("text", states));
            s.setArray(4, c.createArrayOf("int8", delays));
            s.setArray(5, c.createArrayOf("text", errors));
            s.setLong(6, workerId);
            List<Applied> applied = new ArrayList<>();
            Set<Long> done = new HashSet<>();
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                applied.add(new Applied(r.getLong(1), State.of(r.getString(2))));
                done.add(r.getLong(1));
              }
            }
            List<Outcome> fenced = new ArrayList<>();
            for (Outcome o : outcomes) {
              if (!done.contains(o.id())) {
                fenced.add(o);
              }
            }
            return new Completion(List.copyOf(applied), List.copyOf(fenced));
          }
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Worker leases

  /**
   * Registers a running queue instance: a worker row whose lease expires {@code lease} after the
   * database's now().
   *
   * @return the worker's id, the owner of the tasks it claims
   */
  long register(String queue, Duration lease) throws SQLException {
    requireText(queue, "queue");
    requirePositive(lease, "lease");
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "INSERT INTO loomwork_worker (queue, expires_at)"
                      + " VALUES (?, now() + ?::bigint * interval '1 microsecond') RETURNING id")) {
            s.setString(1, queue);
            s.setLong(2, micros(lease));
            try (ResultSet r = s.executeQuery()) {
              r.next();
              return r.getLong(1);
            }
          }
        });
  }

  /**
   * Renews a worker's lease: it now expires {@code lease} after the database's now(). A lease that
   * expired but was not yet rescued is renewed too: nobody has taken its tasks.
   *
   * @return false if the worker's row is gone (rescued or deregistered): the worker lost its lease,
   *     must stop its attempts, drop their pending outcomes and register again
   */
  boolean heartbeat(long workerId, Duration lease) throws SQLException {
    requirePositive(lease, "lease");
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE loomwork_worker"
                      + " SET expires_at = now() + ?::bigint * interval '1 microsecond', heartbeat_at = now()"
                      + " WHERE id = ?")) {
            s.setLong(1, micros(lease));
            s.setLong(2, workerId);
            return s.executeUpdate() == 1;
          }
        });
  }

  /**
   * Deletes a worker's row. Tasks it still runs are then the rescuer's to return.
   *
   * @return false if the row was already gone
   */
  boolean deregister(long workerId) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s = c.prepareStatement("DELETE FROM loomwork_worker WHERE id = ?")) {
            s.setLong(1, workerId);
            return s.executeUpdate() == 1;
          }
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Rescue

  /** A running task the rescuer took from a lost worker, and the state it now has. */
  record Rescued(long id, String queue, State state, int attempt, long worker) {}

  /**
   * What one rescue did.
   *
   * @param expiredWorkers the worker rows it deleted
   * @param tasks the tasks it took back
   */
  record Rescue(List<Long> expiredWorkers, List<Rescued> tasks) {}

  /*
   * One statement: delete the expired workers and return the running tasks of every worker without
   * a row (the ones deleted here, and any whose row was deregistered or deleted by an earlier rescue
   * while a claim of theirs was committing). A task with attempts left becomes ready at once; one
   * without fails; one whose cancel was requested is cancelled. The old owner is kept in last_error,
   * since RETURNING sees the new row.
   */
  private static final String RESCUE =
      "WITH expired AS ("
          + " DELETE FROM loomwork_worker WHERE expires_at < now() RETURNING id"
          + "), rescued AS ("
          + " UPDATE loomwork_task t SET"
          + " state = CASE WHEN t.cancel_requested THEN 'cancelled'"
          + "   WHEN t.attempt < t.max_attempts THEN 'ready' ELSE 'failed' END,"
          + " owner = NULL,"
          + " run_at = CASE WHEN NOT t.cancel_requested AND t.attempt < t.max_attempts THEN now() ELSE t.run_at END,"
          + " finished_at = CASE WHEN NOT t.cancel_requested AND t.attempt < t.max_attempts THEN NULL ELSE now() END,"
          + " last_error = jsonb_build_object('type', '" + WORKER_LOST + "',"
          + "   'message', 'worker ' || t.owner || ' lost its lease during attempt ' || t.attempt,"
          + "   'attempt', t.attempt, 'worker', t.owner),"
          + " updated_at = now()"
          + " WHERE t.state = 'running'"
          + " AND (t.owner IN (SELECT id FROM expired)"
          + "   OR NOT EXISTS (SELECT 1 FROM loomwork_worker w WHERE w.id = t.owner))"
          + " RETURNING t.id, t.queue, t.state, t.attempt, (t.last_error ->> 'worker')::bigint AS worker"
          + ")"
          + " SELECT 'worker', id, NULL, NULL, NULL, NULL FROM expired"
          + " UNION ALL"
          + " SELECT 'task', id, queue, state, attempt, worker FROM rescued";

  /**
   * Runs the rescuer once, if no other process is running it: behind {@code
   * pg_try_advisory_xact_lock}, deletes the workers whose lease expired (by the database's clock)
   * and returns their running tasks in one statement, then commits.
   *
   * @return what it did, or empty if another process holds the rescue lock
   */
  Optional<Rescue> rescue() throws SQLException {
    return inTransaction(
        c -> {
          if (!tryXactLock(c, RESCUE_LOCK)) {
            return Optional.empty();
          }
          List<Long> workers = new ArrayList<>();
          List<Rescued> tasks = new ArrayList<>();
          try (Statement s = c.createStatement();
              ResultSet r = s.executeQuery(RESCUE)) {
            while (r.next()) {
              if (r.getString(1).equals("worker")) {
                workers.add(r.getLong(2));
              } else {
                tasks.add(
                    new Rescued(
                        r.getLong(2), r.getString(3), State.of(r.getString(4)), r.getInt(5), r.getLong(6)));
              }
            }
          }
          return Optional.of(new Rescue(List.copyOf(workers), List.copyOf(tasks)));
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Release, cancel, find

  /*
   * A cutting shutdown's cut attempts did not fail: back to ready with the attempt given back, in
   * their old place (run_at unchanged). A task whose cancel was requested ends cancelled instead.
   */
  private static final String RELEASE =
      "UPDATE loomwork_task SET"
          + " state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'ready' END,"
          + " owner = NULL,"
          + " attempt = CASE WHEN cancel_requested THEN attempt ELSE attempt - 1 END,"
          + " finished_at = CASE WHEN cancel_requested THEN now() END,"
          + " updated_at = now()"
          + " WHERE id = ANY (?) AND state = 'running' AND owner = ?"
          + " RETURNING id, state";

  /**
   * Returns a worker's cut tasks to ready and gives their attempt back, in one statement, so that
   * another process takes them at once. Fenced like a completion: tasks not running for this worker
   * are left alone.
   *
   * @return the tasks released, with their new state
   */
  List<Applied> release(long workerId, Collection<Long> ids) throws SQLException {
    if (ids.isEmpty()) {
      return List.of();
    }
    return autoCommitted(
        c -> {
          try (PreparedStatement s = c.prepareStatement(RELEASE)) {
            s.setArray(1, c.createArrayOf("int8", ids.toArray()));
            s.setLong(2, workerId);
            List<Applied> released = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                released.add(new Applied(r.getLong(1), State.of(r.getString(2))));
              }
            }
            return List.copyOf(released);
          }
        });
  }

  private static final String CANCEL =
      "UPDATE loomwork_task SET"
          + " state = CASE WHEN state = 'ready' THEN 'cancelled' ELSE state END,"
          + " cancel_requested = true,"
          + " finished_at = CASE WHEN state = 'ready' THEN now() ELSE finished_at END,"
          + " updated_at = now()"
          + " WHERE id = ? AND state IN ('ready', 'running')"
          + " RETURNING state";

  /**
   * Cancels a task: a ready one ends cancelled; a running one is marked, and ends cancelled whatever
   * its attempt's outcome (its owner should cut the attempt when it learns of it).
   *
   * @return the task's state now ({@code CANCELLED} or {@code RUNNING}), or empty if it had ended
   *     or does not exist
   */
  Optional<State> cancel(long id) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s = c.prepareStatement(CANCEL)) {
            s.setLong(1, id);
            try (ResultSet r = s.executeQuery()) {
              return r.next() ? Optional.of(State.of(r.getString(1))) : Optional.empty();
            }
          }
        });
  }

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

  /** Reads a task's row. */
  Optional<StoredTask> find(long id) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT id, queue, handler, payload::text, name, state, run_at, attempt, max_attempts,"
                      + " deadline, unique_key, owner, cancel_requested, created_at, updated_at,"
                      + " attempted_at, finished_at, last_error::text"
                      + " FROM loomwork_task WHERE id = ?")) {
            s.setLong(1, id);
            try (ResultSet r = s.executeQuery()) {
              if (!r.next()) {
                return Optional.empty();
              }
              long owner = r.getLong(12);
              Long ownerOrNull = r.wasNull() ? null : owner;
              return Optional.of(
                  new StoredTask(
                      r.getLong(1),
                      r.getString(2),
                      r.getString(3),
                      r.getString(4),
                      r.getString(5),
                      State.of(r.getString(6)),
                      instant(r, 7),
                      r.getInt(8),
                      r.getInt(9),
                      nullableInstant(r, 10),
                      r.getString(11),
                      ownerOrNull,
                      r.getBoolean(13),
                      instant(r, 14),
                      instant(r, 15),
                      nullableInstant(r, 16),
                      nullableInstant(r, 17),
                      r.getString(18)));
            }
          }
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Retention and counts

  private static final String PRUNE =
      "WITH doomed AS MATERIALIZED ("
          + " SELECT id FROM loomwork_task"
          + " WHERE state = ? AND finished_at IS NOT NULL"
          + " AND finished_at < now() - ?::bigint * interval '1 microsecond'"
          + " LIMIT ? FOR UPDATE SKIP LOCKED"
          + ")"
          + " DELETE FROM loomwork_task t USING doomed WHERE t.id = doomed.id";

  /**
   * Deletes ended tasks older than their retention, in batches of at most {@code batch} rows, each
   * in its own short transaction behind the maintenance lock ({@code pg_try_advisory_xact_lock}), so
   * that no transaction of the store's stays open long. Stops at the first batch whose lock another
   * process holds.
   *
   * @param keepSucceeded how long succeeded tasks are kept after they end
   * @param keepEnded how long failed and cancelled tasks are kept after they end
   * @param batch rows per transaction
   * @return the rows deleted, or empty if another process held the lock at the first batch (that
   *     process is the maintenance lock holder, which also reads the {@link #counts})
   */
  OptionalLong prune(Duration keepSucceeded, Duration keepEnded, int batch) throws SQLException {
    requireNotNegative(keepSucceeded, "keepSucceeded");
    requireNotNegative(keepEnded, "keepEnded");
    if (batch < 1) {
      throw new IllegalArgumentException("batch: " + batch + " (expected: >= 1)");
    }
    long deleted = 0;
    boolean first = true;
    for (State state : List.of(State.SUCCEEDED, State.FAILED, State.CANCELLED)) {
      Duration keep = state == State.SUCCEEDED ? keepSucceeded : keepEnded;
      while (true) {
        int n = pruneBatch(state, keep, batch);
        if (n < 0) {
          return first ? OptionalLong.empty() : OptionalLong.of(deleted);
        }
        first = false;
        deleted += n;
        if (n < batch) {
          break;
        }
      }
    }
    return OptionalLong.of(deleted);
  }

  /** One batch; -1 when another process holds the maintenance lock. */
  private int pruneBatch(State state, Duration keep, int batch) throws SQLException {
    return inTransaction(
        c -> {
          if (!tryXactLock(c, PRUNE_LOCK)) {
            return -1;
          }
          try (PreparedStatement s = c.prepareStatement(PRUNE)) {
            s.setString(1, state.sql());
            s.setLong(2, micros(keep));
            s.setInt(3, batch);
            return s.executeUpdate();
          }
        });
  }

  /**
   * A queue's tasks by state, by the database's clock.
   *
   * @param ready ready and due
   * @param waiting ready but not yet due (a not-before time or a retry's backoff)
   */
  record Counts(long ready, long waiting, long running, long succeeded, long failed, long cancelled) {}

  /**
   * Counts a queue's tasks by state in one query. It reads every row of the queue, ended ones kept
   * for retention included: run it from one process, on a timer, never per metrics scrape.
   */
  Counts counts(String queue) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT count(*) FILTER (WHERE state = 'ready' AND run_at <= now()),"
                      + " count(*) FILTER (WHERE state = 'ready' AND run_at > now()),"
                      + " count(*) FILTER (WHERE state = 'running'),"
                      + " count(*) FILTER (WHERE state = 'succeeded'),"
                      + " count(*) FILTER (WHERE state = 'failed'),"
                      + " count(*) FILTER (WHERE state = 'cancelled')"
                      + " FROM loomwork_task WHERE queue = ?")) {
            s.setString(1, queue);
            try (ResultSet r = s.executeQuery()) {
              r.next();
              return new Counts(
                  r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4), r.getLong(5), r.getLong(6));
            }
          }
        });
  }

  /**
   * How long until the next ready task of a queue, among {@code handlers}, is due, by the database's
   * clock: zero if one is due now, empty if none is ready. For the one timer that wakes a claim when
   * a not-before time or a retry's backoff runs out. One query on the ready index.
   */
  Optional<Duration> nextDue(String queue, Collection<String> handlers) throws SQLException {
    if (handlers.isEmpty()) {
      return Optional.empty();
    }
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT (extract(epoch FROM min(run_at) - now()) * 1000000)::bigint"
                      + " FROM loomwork_task WHERE state = 'ready' AND queue = ? AND handler = ANY (?)")) {
            s.setString(1, queue);
            s.setArray(2, c.createArrayOf("text", handlers.toArray()));
            try (ResultSet r = s.executeQuery()) {
              r.next();
              long micros = r.getLong(1);
              return r.wasNull() ? Optional.empty() : Optional.of(Duration.ofNanos(Math.max(0, micros) * 1_000));
            }
          }
        });
  }

  /**
   * The running tasks of a worker whose cancel was requested (from another process, or after a
   * restart): the owner cuts their attempts. One query on the running index.
   */
  List<Long> cancelRequested(long workerId) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT id FROM loomwork_task WHERE state = 'running' AND owner = ? AND cancel_requested"
                      + " ORDER BY id")) {
            s.setLong(1, workerId);
            List<Long> ids = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                ids.add(r.getLong(1));
              }
            }
            return List.copyOf(ids);
          }
        });
  }

  // ---------------------------------------------------------------------------------------------
  // LISTEN / NOTIFY

  /**
   * The notification channel of a queue: {@code loomwork.} and the queue's name when that fits
   * PostgreSQL's 63 bytes and has no control character, double quote or lone surrogate; else {@code loomwork.#} and
   * a hash of the name. Two queues may share a hashed channel: a wake-up is a hint, never a claim.
   */
  static String channel(String queue) {
    String plain = "loomwork." + queue;
    boolean safe =
        plain.getBytes(StandardCharsets.UTF_8).length <= MAX_CHANNEL_BYTES
            && queue.codePoints()
                .allMatch(cp -> cp >= 0x20 && cp != 0x7f && cp != '"' && (cp < 0xd800 || cp > 0xdfff));
    if (safe) {
      return plain;
    }
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(queue.getBytes(StandardCharsets.UTF_8));
      return "loomwork.#" + HexFormat.of().formatHex(hash, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /**
   * Sends a wake-up for a queue on the caller's connection: {@code pg_notify} on the queue's
   * channel with the queue's name as payload. In a transaction, PostgreSQL delivers it at commit,
   * and folds identical ones of one transaction into one; a rollback drops it. Does nothing else to
   * the connection. Debouncing is the caller's.
   */
  static void notifyQueue(Connection connection, String queue) throws SQLException {
    try (PreparedStatement s = connection.prepareStatement("SELECT pg_notify(?, ?)")) {
      s.setString(1, channel(queue));
      s.setString(2, queue);
      s.execute();
    }
  }

  /** Sends a wake-up for a queue on a connection of the store's, committed at once. */
  void notifyQueue(String queue) throws SQLException {
    autoCommitted(
        c -> {
          notifyQueue(c, queue);
          return null;
        });
  }

  /**
   * Subscribes a dedicated connection to a queue's wake-ups. The connection must be in auto-commit
   * mode (a LISTEN takes effect at commit) and must be PostgreSQL's driver's, possibly wrapped.
   */
  static void listen(Connection listener, String queue) throws SQLException {
    try (Statement s = listener.createStatement()) {
      s.execute("LISTEN " + quoteIdentifier(channel(queue)));
    }
  }

  /** Ends a subscription of {@link #listen}. */
  static void unlisten(Connection listener, String queue) throws SQLException {
    try (Statement s = listener.createStatement()) {
      s.execute("UNLISTEN " + quoteIdentifier(channel(queue)));
    }
  }

  /**
   * Waits up to {@code timeout} for wake-ups on a listening connection and returns the queues they
   * name, in the order received (possibly with repeats); empty if none came in time. Returns as soon
   * as at least one has arrived.
   *
   * @param timeout at least a millisecond is waited
   * @throws SQLException if the connection broke: the caller must LISTEN again on a new connection
   *     and claim once, since wake-ups sent meanwhile are lost
   */
  static List<String> awaitNotifications(Connection listener, Duration timeout) throws SQLException {
    long millis = Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    PGNotification[] received = listener.unwrap(PGConnection.class).getNotifications((int) millis);
    if (received == null || received.length == 0) {
      return List.of();
    }
    List<String> queues = new ArrayList<>(received.length);
    for (PGNotification n : received) {
      queues.add(n.getParameter());
    }
    return List.copyOf(queues);
  }

  // ---------------------------------------------------------------------------------------------
  // Errors as JSON

  /**
   * The {@code last_error} JSON of a failed attempt: {@code {"type", "message", "stack", "attempt",
   * "worker"}}. NUL characters, which {@code jsonb} refuses, become U+FFFD.
   *
   * @param type the error's class name
   * @param message its message, or null
   * @param stack its stack trace, truncated by the caller, or null
   */
  static String errorJson(String type, @Nullable String message, @Nullable String stack, int attempt, long worker) {
    StringBuilder s = new StringBuilder(64 + (stack == null ? 0 : stack.length()));
    s.append("{\"type\":");
    jsonString(s, type);
    s.append(",\"message\":");
    jsonString(s, message);
    s.append(",\"stack\":");
    jsonString(s, stack);
    s.append(",\"attempt\":").append(attempt);
    s.append(",\"worker\":").append(worker);
    return s.append('}').toString();
  }

  /** Appends a JSON string literal (or null), escaping what JSON requires and nothing more. */
  static void jsonString(StringBuilder s, @Nullable String text) {
    if (text == null) {
      s.append("null");
      return;
    }
    s.append('"');
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      switch (ch) {
        case '"' -> s.append("\\\"");
        case '\\' -> s.append("\\\\");
        case '\n' -> s.append("\\n");
        case '\r' -> s.append("\\r");
        case '\t' -> s.append("\\t");
        case 0 -> s.append('\ufffd');
        default -> {
          if (ch < 0x20) {
            s.append(String.format("\\u%04x", (int) ch));
          } else {
            s.append(ch);
          }
        }
      }
    }
    s.append('"');
  }

  // ---------------------------------------------------------------------------------------------
  // Connections and helpers

  /** A function of a connection that may throw SQLException. */
  @FunctionalInterface
  interface SqlFunction<R> {
    R apply(Connection c) throws SQLException;
  }

  /**
   * Runs {@code f} on a borrowed connection. An auto-commit connection (the usual) commits each
   * statement itself, so a one-statement operation costs one round trip; on a connection the pool
   * hands out with auto-commit off, this commits after {@code f}, or rolls back if it throws.
   */
  private <R> R autoCommitted(SqlFunction<R> f) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      if (c.getAutoCommit()) {
        return f.apply(c);
      }
      return committed(c, f);
    }
  }

  /** Runs {@code f} in one transaction on a borrowed connection, and restores its auto-commit. */
  private <R> R inTransaction(SqlFunction<R> f) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      if (autoCommit) {
        c.setAutoCommit(false);
      }
      try {
        return committed(c, f);
      } finally {
        if (autoCommit) {
          c.setAutoCommit(true);
        }
      }
    }
  }

  private static <R> R committed(Connection c, SqlFunction<R> f) throws SQLException {
    R result;
    try {
      result = f.apply(c);
    } catch (SQLException | RuntimeException | Error e) {
      try {
        c.rollback();
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    c.commit();
    return result;
  }

  private static boolean tryXactLock(Connection c, long key) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT pg_try_advisory_xact_lock(?)")) {
      s.setLong(1, key);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getBoolean(1);
      }
    }
  }

  static String quoteIdentifier(String name) {
    return '"' + name.replace("\"", "\"\"") + '"';
  }

  /** A duration in microseconds (PostgreSQL's resolution), clamped to {@link #MAX_DURATION}. */
  static long micros(Duration d) {
    Duration clamped = d.compareTo(MAX_DURATION) > 0 ? MAX_DURATION : d;
    return clamped.getSeconds() * 1_000_000L + clamped.getNano() / 1_000;
  }

  private static void setInstant(PreparedStatement s, int i, @Nullable Instant t) throws SQLException {
    if (t == null) {
      s.setNull(i, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      Instant clamped = t.isAfter(MAX_INSTANT) ? MAX_INSTANT : t;
      s.setObject(i, OffsetDateTime.ofInstant(clamped, ZoneOffset.UTC));
    }
  }

  private static Instant instant(ResultSet r, int column) throws SQLException {
    Instant t = nullableInstant(r, column);
    if (t == null) {
      throw new SQLException("column " + column + " is null");
    }
    return t;
  }

  private static @Nullable Instant nullableInstant(ResultSet r, int column) throws SQLException {
    OffsetDateTime t = r.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }

  private static void requireText(String value, String what) {
    Objects.requireNonNull(value, what);
    if (value.isBlank()) {
      throw new IllegalArgumentException(what + ": '" + value + "' (expected: not blank)");
    }
  }

  private static void requirePositive(Duration d, String what) {
    Objects.requireNonNull(d, what);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + ": " + d + " (expected: > 0)");
    }
  }

  private static void requireNotNegative(Duration d, String what) {
    Objects.requireNonNull(d, what);
    if (d.isNegative()) {
      throw new IllegalArgumentException(what + ": " + d + " (expected: >= 0)");
    }
  }
}
