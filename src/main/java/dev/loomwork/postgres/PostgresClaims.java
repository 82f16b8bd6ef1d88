package dev.loomwork.postgres;

import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.internal.DurableBackend.Outcome;
import dev.loomwork.postgres.PostgresTypes.Applied;
import dev.loomwork.postgres.PostgresTypes.Claim;
import dev.loomwork.postgres.PostgresTypes.Completion;
import dev.loomwork.postgres.PostgresTypes.State;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;

/**
 * Claims and their ends: claiming due ready tasks for a worker, how long until the next is due,
 * writing a batch of attempts' outcomes, and releasing a cutting shutdown's cut attempts. Each write
 * is fenced by the task's state, owner and attempt.
 */
final class PostgresClaims extends PostgresOperations {

  PostgresClaims(DataSource dataSource) {
    super(dataSource);
  }

  /*
   * One statement. The MATERIALIZED CTE runs once (a plain IN (SELECT ... LIMIT n FOR UPDATE SKIP
   * LOCKED) may be re-run by the planner and claim more than n). SKIP LOCKED passes over rows
   * another claim holds; in READ COMMITTED, a row another claim updated and committed after this
   * statement's snapshot is re-checked against the WHERE clause when locked, and skipped as running.
   * A worker whose lease is gone or expired claims nothing, and so does a worker of a paused queue
   * (one primary-key probe of loomwork_paused_queue): a pause takes effect at every process's next
   * claim, while the attempts running go on. The pause probe names the queue by its parameter, not
   * by t.queue: uncorrelated, it is a one-time filter, as the lease's is. Correlated, it was an
   * anti-join whose estimate (an empty, unanalysed table matches every row) was one row, so the
   * planner sorted the whole backlog at every claim instead of reading the ready index to the LIMIT:
   * 17 ms instead of 1 ms a claim at 20,000 ready tasks, a work-off 4 times slower.
   *
   * The handlers come as two parallel arrays, names and the newest payload version this worker
   * reads of each: a row whose version is newer than its handler's here stays ready for a worker
   * that reads it (a rolling deploy's new processes), and is never claimed and failed by an old
   * codec. The version is a filter on the row, an array lookup, not a join: the plan stays the
   * ready index's scan in (run_at, id) order that stops at the LIMIT, where a join to the unnested
   * arrays may hash and sort the whole backlog at every claim.
   */
  static final String CLAIM =
      "WITH lease AS ("
          + " SELECT id FROM loomwork_worker WHERE id = ? AND expires_at > now()"
          + "), due AS MATERIALIZED ("
          + " SELECT t.id FROM loomwork_task t"
          + " WHERE t.state = 'ready' AND t.queue = ? AND t.run_at <= now() AND t.handler = ANY (?)"
          + " AND t.version <= (?::integer[])[array_position(?::text[], t.handler)]"
          + " AND EXISTS (SELECT 1 FROM lease)"
          + " AND NOT EXISTS (SELECT 1 FROM loomwork_paused_queue p WHERE p.queue = ?)"
          + " ORDER BY t.run_at, t.id"
          + " LIMIT ?"
          + " FOR UPDATE SKIP LOCKED"
          + "), claimed AS ("
          + " UPDATE loomwork_task t"
          + " SET state = 'running', owner = ?, attempt = t.attempt + 1, attempted_at = now(), updated_at = now()"
          + " FROM due WHERE t.id = due.id"
          + " RETURNING t.id, t.handler, t.payload::text AS payload, t.name, t.attempt, t.max_attempts,"
          + " t.run_at, t.deadline, t.unique_key, t.traceparent, t.tracestate"
          + ")"
          + " SELECT EXISTS (SELECT 1 FROM lease), c.*"
          + " FROM (VALUES (1)) AS one (x) LEFT JOIN claimed c ON true"
          + " ORDER BY c.run_at, c.id";

  /**
   * Claims up to {@code n} due ready tasks of a queue whose handlers this worker registered, at a
   * payload version no newer than the one it registered, oldest {@code run_at} first, marks them
   * running with the worker as owner and the attempt number incremented, and commits, in one
   * statement. Never waits for a row another claim holds.
   *
   * @param queue the queue
   * @param handlers the handlers this process registered on the queue, each with the newest payload
   *     version it reads; tasks of other handlers, and newer payloads, stay
   * @param workerId the claiming worker, whose lease must be live
   * @param n at most this many; never more than the worker's free permits
   */
  Claim claim(String queue, Map<String, Integer> handlers, long workerId, int n) throws SQLException {
    requireText(queue, "queue");
    if (n < 0) {
      throw new IllegalArgumentException("n: " + n + " (expected: >= 0)");
    }
    if (n == 0 || handlers.isEmpty()) {
      return new Claim(true, List.of());
    }
    String[] names = names(handlers);
    Integer[] versions = versions(handlers, names);
    return autoCommitted(
        c -> {
          try (PreparedStatement s = c.prepareStatement(CLAIM)) {
            s.setLong(1, workerId);
            s.setString(2, queue);
            s.setArray(3, c.createArrayOf("text", names));
            s.setArray(4, c.createArrayOf("int4", versions));
            s.setArray(5, c.createArrayOf("text", names));
            s.setString(6, queue);
            s.setInt(7, n);
            s.setLong(8, workerId);
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
                        nullableInstant(r, 9),
                        r.getString(10),
                        r.getString(11),
                        r.getString(12)));
              }
            }
            return new Claim(live, List.copyOf(tasks));
          }
        });
  }

  /** The handlers' names, in a fixed order for {@link #versions}. */
  static String[] names(Map<String, Integer> handlers) {
    return handlers.keySet().toArray(String[]::new);
  }

  /** The versions of {@code names}, in their order; each at least 1. */
  static Integer[] versions(Map<String, Integer> handlers, String[] names) {
    Integer[] versions = new Integer[names.length];
    for (int i = 0; i < names.length; i++) {
      Integer v = handlers.get(names[i]);
      if (v == null || v < 1) {
        throw new IllegalArgumentException(
            "handlers: version " + v + " of '" + names[i] + "' (expected: >= 1)");
      }
      versions[i] = v;
    }
    return versions;
  }

  /**
   * How long until the next ready task of a queue that {@link #claim} would take with {@code
   * handlers} is due, by the database's clock: zero if one is due now, empty if none is ready or the queue is
   * paused (a paused queue's worker waits for its poll, or the resume's notification). For
   * the one timer that wakes a claim when a not-before time or a retry's backoff runs out. A payload
   * newer than this worker reads is not waited for (else an old worker would claim again at once,
   * take nothing, and spin). One query on the ready index.
   */
  Optional<Duration> nextDue(String queue, Map<String, Integer> handlers) throws SQLException {
    if (handlers.isEmpty()) {
      return Optional.empty();
    }
    String[] names = names(handlers);
    Integer[] versions = versions(handlers, names);
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT (extract(epoch FROM min(t.run_at) - now()) * 1000000)::bigint"
                      + " FROM loomwork_task t"
                      + " WHERE t.state = 'ready' AND t.queue = ? AND t.handler = ANY (?)"
                      + " AND t.version <= (?::integer[])[array_position(?::text[], t.handler)]"
                      + " AND NOT EXISTS (SELECT 1 FROM loomwork_paused_queue p WHERE p.queue = ?)")) {
            s.setString(1, queue);
            s.setArray(2, c.createArrayOf("text", names));
            s.setArray(3, c.createArrayOf("int4", versions));
            s.setArray(4, c.createArrayOf("text", names));
            s.setString(5, queue);
            try (ResultSet r = s.executeQuery()) {
              r.next();
              long micros = r.getLong(1);
              return r.wasNull() ? Optional.empty() : Optional.of(Duration.ofNanos(Math.max(0, micros) * 1_000));
            }
          }
        });
  }

  /*
   * One statement per batch: the outcomes as parallel arrays, unnested, joined to their rows. The
   * fence is owner AND attempt: an attempt that was rescued, released or superseded updates nothing.
   * An owner means state = 'running' (the schema's loomwork_task_owner_iff_running), and the state is
   * deliberately not repeated here: with it, the planner reads the worker's running tasks through the
   * partial index loomwork_task_running, whose entries of tasks completed since the last vacuum are
   * all dead, and a batch then costs as much as the backlog already worked off; without it each row
   * is found by its primary key. A cancel requested while the attempt ran wins over its outcome.
   * The attempt joins the task's history (attempts) in the same statement: the SET expressions read
   * the row as it was, so the entry has the attempt's start (attempted_at) and worker (owner).
   */
  private static final String COMPLETE =
      "UPDATE loomwork_task t SET"
          + " state = CASE WHEN t.cancel_requested THEN 'cancelled' ELSE o.state END,"
          + " owner = NULL,"
          + " run_at = CASE WHEN o.state = 'ready' AND NOT t.cancel_requested"
          + "   THEN now() + o.delay * interval '1 microsecond' ELSE t.run_at END,"
          + " finished_at = CASE WHEN o.state = 'ready' AND NOT t.cancel_requested THEN NULL ELSE now() END,"
          + " last_error = coalesce(o.error::jsonb, t.last_error),"
          + " attempts = " + PostgresAttempts.append(
              "t", "CASE WHEN t.cancel_requested THEN 'cancelled' WHEN o.state = 'ready' THEN 'retried'"
                  + " ELSE o.state END", "o.error::jsonb") + ","
          + " updated_at = now()"
          + " FROM unnest(?::bigint[], ?::integer[], ?::text[], ?::bigint[], ?::text[])"
          + "   AS o (id, attempt, state, delay, error)"
          + " WHERE t.id = o.id AND t.owner = ? AND t.attempt = o.attempt"
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
      states[i] = PostgresTypes.state(o.ending()).sql();
      delays[i] = micros(o.retryDelay());
      Throwable e = o.error();
      errors[i] = e == null ? null : PostgresErrorJson.errorJson(e, o.attempt(), workerId);
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

  /*
   * A cutting shutdown's cut attempts did not fail: back to ready with the attempt given back, in
   * their old place (run_at unchanged). A task whose cancel was requested ends cancelled instead.
   * Fenced on the owner alone, which implies state = 'running' (see COMPLETE for why the state is
   * not repeated).
   */
  private static final String RELEASE =
      "UPDATE loomwork_task SET"
          + " state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'ready' END,"
          + " owner = NULL,"
          + " attempt = CASE WHEN cancel_requested THEN attempt ELSE attempt - 1 END,"
          + " finished_at = CASE WHEN cancel_requested THEN now() END,"
          + " attempts = " + PostgresAttempts.append(
              "loomwork_task", "CASE WHEN cancel_requested THEN 'cancelled' ELSE 'released' END", "NULL") + ","
          + " updated_at = now()"
          + " WHERE id = ANY (?) AND owner = ?"
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
}
