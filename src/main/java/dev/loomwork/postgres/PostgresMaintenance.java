package dev.loomwork.postgres;

import dev.loomwork.internal.DurableBackend.Counts;
import dev.loomwork.postgres.PostgresTypes.State;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;
import javax.sql.DataSource;

/** Maintenance: retention pruning behind the maintenance lock, and a queue's counts by state. */
final class PostgresMaintenance extends PostgresOperations {

  /** The transaction-scoped advisory lock of retention pruning (the maintenance lock). */
  static final long PRUNE_LOCK = PostgresSchema.MIGRATION_LOCK + 2;

  PostgresMaintenance(DataSource dataSource) {
    super(dataSource);
  }

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
   * Deletes the given tasks that have ended in one of {@code states}, in one statement: retention
   * zero, applied when the tasks end rather than at the next pruning. No lock is needed: the rows
   * are the caller's own, just ended.
   *
   * @return the rows deleted
   */
  int deleteEnded(Collection<Long> ids, Collection<State> states) throws SQLException {
    if (ids.isEmpty() || states.isEmpty()) {
      return 0;
    }
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "DELETE FROM loomwork_task WHERE id = ANY (?) AND state = ANY (?) AND finished_at IS NOT NULL")) {
            s.setArray(1, c.createArrayOf("int8", ids.toArray()));
            s.setArray(2, c.createArrayOf("text", states.stream().map(State::sql).toArray()));
            return s.executeUpdate();
          }
        });
  }

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
   * The due ready tasks of {@code queue} that no live worker of the queue claims, by handler: no
   * worker whose lease has not expired registered their handler at their payload version or a later
   * one. A worker row with no handlers recorded (written by a version that did not record them) is
   * taken to claim every task, so that it never raises a false alarm. Reads the queue's due ready
   * tasks, by the ready index, and the worker rows of the queue.
   */
  java.util.Map<String, Long> unclaimable(String queue) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT t.handler, count(*) FROM loomwork_task t"
                      + " WHERE t.state = 'ready' AND t.queue = ? AND t.run_at <= now()"
                      + " AND NOT EXISTS (SELECT 1 FROM loomwork_worker w"
                      + "   WHERE w.queue = t.queue AND w.expires_at > now()"
                      + "   AND (w.handlers = '{}'::jsonb"
                      + "     OR (w.handlers ->> t.handler)::integer >= t.version))"
                      + " GROUP BY t.handler")) {
            s.setString(1, queue);
            java.util.Map<String, Long> byHandler = new java.util.TreeMap<>();
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                byHandler.put(r.getString(1), r.getLong(2));
              }
            }
            return byHandler;
          }
        });
  }
}
