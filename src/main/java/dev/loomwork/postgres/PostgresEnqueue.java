package dev.loomwork.postgres;

import dev.loomwork.postgres.Debouncer.Wake;
import dev.loomwork.postgres.PostgresTypes.Enqueued;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import javax.sql.DataSource;

/**
 * Enqueue: inserting a task, on the caller's connection and in the caller's transaction, or in a
 * transaction of its own; with a unique key, at most one live task per queue and key.
 */
final class PostgresEnqueue extends PostgresOperations {

  /** How often an enqueue with a unique key re-runs its statement when it raced a commit. */
  static final int UNIQUE_RETRIES = 16;

  PostgresEnqueue(DataSource dataSource) {
    super(dataSource);
  }

  private static final String INSERT_COLUMNS =
      "INSERT INTO loomwork_task (queue, handler, version, payload, name, run_at, max_attempts, deadline,"
          + " unique_key, traceparent, tracestate)"
          + " VALUES (?, ?, ?, ?::jsonb, ?,"
          + " greatest(coalesce(?::timestamptz, '-infinity'), now() + ?::bigint * interval '1 microsecond'),"
          + " ?, now() + ?::bigint * interval '1 microsecond', ?, ?, ?)";

  /*
   * The insert carries its queue's wake-up (Debouncer.Wake), so that an enqueue is one round trip
   * whatever the debouncer decided: the NOTIFY of a leading enqueue (pg_notify, delivered at the
   * statement's transaction's commit, as a NOTIFY statement's would be), or the advisory lock a
   * following one holds until its transaction ends. By the Wake's ordinal.
   */
  private static final String[] ENQUEUE = {
    INSERT_COLUMNS + " RETURNING id, pg_notify(?, ?)",
    INSERT_COLUMNS + " RETURNING id, pg_backend_pid(), pg_advisory_xact_lock(?, pg_backend_pid())",
    INSERT_COLUMNS + " RETURNING id"
  };

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
    return enqueue(caller, task, Wake.NONE);
  }

  /**
   * Inserts a task as {@link #enqueue(Connection, NewTask)} does, and wakes its queue's workers as
   * {@code wake} says, in the insert's own statement (with a unique key, in a second one).
   *
   * @param wake what the {@link Debouncer} decided for this enqueue
   * @return the task's id, whether it was inserted, and the backend that holds the wake-up lock
   */
  static Enqueued enqueue(Connection caller, NewTask task, Wake wake) throws SQLException {
    try {
      return insert(caller, task, wake);
    } catch (SQLException e) {
      throw explained(e);
    }
  }

  private static Enqueued insert(Connection caller, NewTask task, Wake wake) throws SQLException {
    if (task.uniqueKey() == null) {
      try (PreparedStatement s = caller.prepareStatement(ENQUEUE[wake.ordinal()])) {
        int i = bindInsert(s, task);
        switch (wake) {
          case NOTIFY -> {
            s.setString(i++, PostgresNotifications.channel(task.queue()));
            s.setString(i, task.queue());
          }
          case HOLD -> s.setInt(i, Debouncer.LOCK_CLASS);
          case NONE -> {}
        }
        try (ResultSet r = s.executeQuery()) {
          r.next();
          return new Enqueued(r.getLong(1), true, wake == Wake.HOLD ? r.getInt(2) : 0);
        }
      }
    }
    Enqueued inserted = insertUnique(caller, task);
    return switch (wake) {
      case NOTIFY -> {
        PostgresNotifications.notifyQueue(caller, task.queue());
        yield inserted;
      }
      case HOLD ->
          new Enqueued(
              inserted.id(), inserted.created(), PostgresNotifications.holdUntilEnd(caller, Debouncer.LOCK_CLASS));
      case NONE -> inserted;
    };
  }

  private static Enqueued insertUnique(Connection caller, NewTask task) throws SQLException {
    try (PreparedStatement s = caller.prepareStatement(ENQUEUE_UNIQUE)) {
      int i = bindInsert(s, task);
      s.setString(i++, task.queue());
      s.setString(i, task.uniqueKey());
      for (int tries = 0; tries < UNIQUE_RETRIES; tries++) {
        try (ResultSet r = s.executeQuery()) {
          if (r.next()) {
            return new Enqueued(r.getLong(1), r.getBoolean(2), 0);
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
    return enqueue(task, Wake.NONE);
  }

  /**
   * Inserts a task in a transaction of its own, with its wake-up.
   *
   * @see #enqueue(Connection, NewTask, Wake)
   */
  Enqueued enqueue(NewTask task, Wake wake) throws SQLException {
    return autoCommitted(c -> enqueue(c, task, wake));
  }

  private static int bindInsert(PreparedStatement s, NewTask t) throws SQLException {
    int i = 1;
    s.setString(i++, t.queue());
    s.setString(i++, t.handler());
    s.setInt(i++, t.version());
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
    s.setString(i++, t.traceparent());
    s.setString(i++, t.tracestate());
    return i;
  }
}
