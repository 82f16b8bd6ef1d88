package dev.loomwork.postgres;

import dev.loomwork.postgres.PostgresTypes.State;
import dev.loomwork.postgres.PostgresTypes.StoredTask;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;

/** One task by id: cancelling it, and reading its row. */
final class PostgresTaskRows extends PostgresOperations {

  PostgresTaskRows(DataSource dataSource) {
    super(dataSource);
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

  /** Reads a task's row. */
  Optional<StoredTask> find(long id) throws SQLException {
    return autoCommitted(c -> find(c, id));
  }

  /** Reads a task's row on the caller's connection. */
  static Optional<StoredTask> find(Connection c, long id) throws SQLException {
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
  }
}
