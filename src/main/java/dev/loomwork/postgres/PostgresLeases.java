package dev.loomwork.postgres;

import dev.loomwork.postgres.PostgresTypes.Expired;
import dev.loomwork.postgres.PostgresTypes.Rescue;
import dev.loomwork.postgres.PostgresTypes.Rescued;
import dev.loomwork.postgres.PostgresTypes.State;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Worker leases and the rescuer: registering a worker, renewing and ending its lease, the cancels
 * its running tasks must act on, and returning the running tasks of workers whose lease expired.
 */
final class PostgresLeases extends PostgresOperations {

  /** The transaction-scoped advisory lock that lets one rescuer run at a time. */
  static final long RESCUE_LOCK = PostgresSchema.MIGRATION_LOCK + 1;

  /** The error type the rescuer records for an attempt whose worker lost its lease. */
  static final String WORKER_LOST = "dev.loomwork.postgres.WorkerLost";

  PostgresLeases(DataSource dataSource) {
    super(dataSource);
  }

  /**
   * Registers a running queue instance: a worker row whose lease expires {@code lease} after the
   * database's now(), and which records the handlers it claims and the newest payload version of
   * each (as a JSON object, name to version).
   *
   * @param handlers the handlers the worker claims, each with the newest payload version it reads
   * @return the worker's id, the owner of the tasks it claims
   */
  long register(String queue, Map<String, Integer> handlers, Duration lease) throws SQLException {
    requireText(queue, "queue");
    requirePositive(lease, "lease");
    String[] names = PostgresClaims.names(handlers);
    Integer[] versions = PostgresClaims.versions(handlers, names);
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "INSERT INTO loomwork_worker (queue, expires_at, handlers)"
                      + " SELECT ?, now() + ?::bigint * interval '1 microsecond',"
                      + " coalesce(jsonb_object_agg(h.handler, h.version), '{}'::jsonb)"
                      + " FROM unnest(?::text[], ?::integer[]) AS h (handler, version)"
                      + " RETURNING id")) {
            s.setString(1, queue);
            s.setLong(2, micros(lease));
            s.setArray(3, c.createArrayOf("text", names));
            s.setArray(4, c.createArrayOf("int4", versions));
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

  /**
   * The running tasks of a worker whose cancel was requested (from another process, or after a
   * restart): the owner cuts their attempts. One query on the running index.
   */
  List<Long> cancelRequested(long workerId) throws SQLException {
    return runningIds(workerId, " AND cancel_requested");
  }

  /**
   * Every running task of a worker: after a claim whose answer was lost (the connection broke), the
   * worker compares them with the tasks it knows and releases the others.
   */
  List<Long> running(long workerId) throws SQLException {
    return runningIds(workerId, "");
  }

  private List<Long> runningIds(long workerId, String condition) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT id FROM loomwork_task WHERE state = 'running' AND owner = ?" + condition
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

  /*
   * One statement: delete the expired workers and return the running tasks of every worker without
   * a row (the ones deleted here, and any whose row was deregistered or deleted by an earlier rescue
   * while a claim of theirs was committing). A task with attempts left becomes ready at once and
   * keeps its run_at, so it keeps its place in the queue (run_at, id) as a released task does,
   * ahead of everything enqueued while its worker was dying; one without fails; one whose cancel was
   * requested is cancelled. The old owner is kept in last_error, since RETURNING sees the new row.
   * Each expired worker comes back with its queue and how late the rescue is (now() - expires_at).
   */
  private static final String RESCUE =
      "WITH expired AS ("
          + " DELETE FROM loomwork_worker WHERE expires_at < now()"
          + " RETURNING id, queue, (extract(epoch FROM now() - expires_at) * 1000000)::bigint AS late"
          + "), rescued AS ("
          + " UPDATE loomwork_task t SET"
          + " state = CASE WHEN t.cancel_requested THEN 'cancelled'"
          + "   WHEN t.attempt < t.max_attempts THEN 'ready' ELSE 'failed' END,"
          + " owner = NULL,"
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
          + " SELECT 'worker', id, queue, NULL, NULL::int, NULL::bigint, late FROM expired"
          + " UNION ALL"
          + " SELECT 'task', id, queue, state, attempt, worker, NULL::bigint FROM rescued";

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
          List<Expired> workers = new ArrayList<>();
          List<Rescued> tasks = new ArrayList<>();
          try (Statement s = c.createStatement();
              ResultSet r = s.executeQuery(RESCUE)) {
            while (r.next()) {
              if (r.getString(1).equals("worker")) {
                workers.add(new Expired(r.getLong(2), r.getString(3), Duration.ofNanos(Math.max(0, r.getLong(7)) * 1_000)));
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
}
