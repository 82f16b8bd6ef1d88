package dev.loomwork.postgres;

import dev.loomwork.TaskState;
import dev.loomwork.admin.AttemptOutcome;
import dev.loomwork.admin.AttemptRecord;
import dev.loomwork.admin.PageRequest;
import dev.loomwork.admin.QueueKind;
import dev.loomwork.admin.QueueOverview;
import dev.loomwork.admin.StoreAdmin;
import dev.loomwork.admin.TaskCount;
import dev.loomwork.admin.TaskDetail;
import dev.loomwork.admin.TaskFilter;
import dev.loomwork.admin.TaskPage;
import dev.loomwork.admin.TaskSummary;
import dev.loomwork.admin.WorkerInfo;
import dev.loomwork.postgres.PostgresAdminSql.Cursor;
import dev.loomwork.postgres.PostgresAdminSql.Sql;
import dev.loomwork.postgres.PostgresTypes.StoredTask;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import javax.sql.DataSource;

/**
 * The {@link StoreAdmin} of a {@link PostgresStore}: each call is one short statement (a few for a
 * task's detail or a bulk retry) on a connection borrowed from the store's data source. The
 * statements that a filter shapes (pages, counts, a bulk retry's batches) are built by {@link
 * PostgresAdminSql}, which says how a page reads the index; this class runs them and reads their
 * rows.
 *
 * <p>Thread-safe: no state but the data source.
 */
final class PostgresAdmin extends PostgresOperations implements StoreAdmin {

  private final PostgresStore store;

  PostgresAdmin(DataSource dataSource, PostgresStore store) {
    super(dataSource);
    this.store = store;
  }

  // ---- queues and counts -------------------------------------------------------------------

  @Override
  public List<QueueOverview> queues() throws SQLException {
    return autoCommitted(
        c -> {
          Map<String, long[]> counts = new TreeMap<>();
          try (PreparedStatement s =
                  c.prepareStatement(
                      "SELECT queue,"
                          + " count(*) FILTER (WHERE state = 'ready' AND run_at <= now()),"
                          + " count(*) FILTER (WHERE state = 'ready' AND run_at > now()),"
                          + " count(*) FILTER (WHERE state = 'running'),"
                          + " count(*) FILTER (WHERE state = 'succeeded'),"
                          + " count(*) FILTER (WHERE state = 'failed'),"
                          + " count(*) FILTER (WHERE state = 'cancelled')"
                          + " FROM loomwork_task GROUP BY queue");
              ResultSet r = s.executeQuery()) {
            while (r.next()) {
              long[] n = new long[6];
              for (int i = 0; i < 6; i++) {
                n[i] = r.getLong(i + 2);
              }
              counts.put(r.getString(1), n);
            }
          }
          Set<String> paused = new TreeSet<>();
          try (PreparedStatement s =
                  c.prepareStatement(
                      "SELECT queue, true FROM loomwork_paused_queue"
                          + " UNION ALL SELECT DISTINCT queue, false FROM loomwork_worker WHERE expires_at > now()");
              ResultSet r = s.executeQuery()) {
            while (r.next()) {
              counts.putIfAbsent(r.getString(1), new long[6]);
              if (r.getBoolean(2)) {
                paused.add(r.getString(1));
              }
            }
          }
          List<QueueOverview> overviews = new ArrayList<>(counts.size());
          counts.forEach(
              (queue, n) ->
                  overviews.add(
                      new QueueOverview(
                          queue, QueueKind.DURABLE, paused.contains(queue), n[0], n[1], n[2], n[3], n[4], n[5],
                          null)));
          return overviews;
        });
  }

  @Override
  public List<TaskCount> counts(TaskFilter filter) throws SQLException {
    Objects.requireNonNull(filter, "filter");
    Sql q = PostgresAdminSql.counts(filter);
    List<TaskCount> counts =
        rows(q, r -> new TaskCount(r.getString(1), r.getString(2), state(r.getString(3)), r.getLong(4)));
    counts.sort(COUNT_ORDER); // the states in their life's order, as MemoryAdmin's
    return counts;
  }

  private static final java.util.Comparator<TaskCount> COUNT_ORDER =
      java.util.Comparator.comparing(TaskCount::queue)
          .thenComparing(TaskCount::handler)
          .thenComparing(TaskCount::state);

  // ---- lists -------------------------------------------------------------------------------

  @Override
  public TaskPage list(TaskFilter filter, PageRequest page) throws SQLException {
    Objects.requireNonNull(filter, "filter");
    Objects.requireNonNull(page, "page");
    Sql q = PostgresAdminSql.page(filter, page);
    List<TaskSummary> tasks = rows(q, PostgresAdmin::summary); // a page and one more, if there is one
    if (tasks.size() <= page.size()) {
      return new TaskPage(tasks, null);
    }
    TaskSummary last = tasks.get(page.size() - 1);
    String next = new Cursor(Objects.requireNonNull(last.createdAt()), Long.parseLong(last.id())).toString();
    return new TaskPage(tasks.subList(0, page.size()), next);
  }

  private static TaskSummary summary(ResultSet r) throws SQLException {
    return new TaskSummary(
        r.getString(2),
        Long.toString(r.getLong(1)),
        r.getString(3),
        r.getString(4),
        state(r.getString(5)),
        r.getInt(6),
        r.getInt(7),
        instant(r, 8),
        nullableInstant(r, 9),
        nullableInstant(r, 10),
        r.getString(11),
        r.getString(12));
  }

  private static TaskState state(String shown) {
    return TaskState.valueOf(shown.toUpperCase(Locale.ROOT));
  }

  // ---- one task ----------------------------------------------------------------------------

  @Override
  public Optional<TaskDetail> task(String queue, String id) throws SQLException {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(id, "id");
    long n;
    try {
      n = Long.parseLong(id);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("id: '" + id + "' (expected: a decimal task id)", e);
    }
    return task(n).filter(t -> t.summary().queue().equals(queue));
  }

  @Override
  public Optional<TaskDetail> task(long id) throws SQLException {
    return autoCommitted(
        c -> {
          Optional<StoredTask> row = PostgresTaskRows.find(c, id);
          if (row.isEmpty()) {
            return Optional.empty();
          }
          StoredTask t = row.get();
          List<AttemptRecord> attempts = new ArrayList<>();
          try (PreparedStatement s = c.prepareStatement(PostgresAttempts.READ)) {
            s.setLong(1, id);
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                long worker = r.getLong(4);
                Long workerOrNull = r.wasNull() ? null : worker;
                long ended = r.getLong(3);
                attempts.add(
                    new AttemptRecord(
                        r.getInt(1),
                        Instant.EPOCH.plus(r.getLong(2), ChronoUnit.MICROS),
                        Instant.EPOCH.plus(ended, ChronoUnit.MICROS),
                        workerOrNull,
                        AttemptOutcome.valueOf(r.getString(5).toUpperCase(Locale.ROOT)),
                        r.getString(6),
                        r.getString(7),
                        r.getString(8)));
              }
            }
          }
          if (t.state() == PostgresTypes.State.RUNNING && t.attemptedAt() != null) {
            attempts.add(
                new AttemptRecord(
                    t.attempt(), t.attemptedAt(), null, t.owner(), AttemptOutcome.RUNNING, null, null, null));
          }
          String errorType = null;
          String errorMessage = null;
          if (t.lastErrorJson() != null) {
            try (PreparedStatement s =
                c.prepareStatement("SELECT ?::jsonb ->> 'type', ?::jsonb ->> 'message'")) {
              s.setString(1, t.lastErrorJson());
              s.setString(2, t.lastErrorJson());
              try (ResultSet r = s.executeQuery()) {
                r.next();
                errorType = r.getString(1);
                errorMessage = r.getString(2);
              }
            }
          }
          TaskState shown = PostgresStore.view(t).state();
          TaskSummary summary =
              new TaskSummary(
                  t.queue(), Long.toString(t.id()), t.name(), t.handler(), shown, t.attempt(), t.maxAttempts(),
                  t.createdAt(), t.runAt(), t.finishedAt(), errorType, errorMessage);
          return Optional.of(
              new TaskDetail(
                  summary, t.payloadJson(), t.deadline(), t.uniqueKey(), t.cancelRequested(), t.owner(), attempts));
        });
  }

  // ---- actions -----------------------------------------------------------------------------

  /*
   * Back to ready, due now, with one more attempt if it had none left; its history and last error
   * stay. A task with a unique key is left alone while a live task of its queue holds the key (the
   * partial unique index would refuse it); a retry racing another of the same key may still meet
   * the index, and is then refused as a whole (unique_violation), which retry(id) reports as false.
   * The queue's workers are notified at commit.
   */
  private static final String RETRY =
      "UPDATE loomwork_task t SET state = 'ready', run_at = now(), finished_at = NULL,"
          + " cancel_requested = false, max_attempts = greatest(t.max_attempts, t.attempt + 1), updated_at = now()"
          + " WHERE t.id = ANY (?) AND t.state IN ('failed', 'cancelled')"
          + " AND (t.unique_key IS NULL OR NOT EXISTS (SELECT 1 FROM loomwork_task o"
          + "   WHERE o.queue = t.queue AND o.unique_key = t.unique_key AND o.state IN ('ready', 'running')))"
          + " RETURNING t.queue";

  /** PostgreSQL's SQLSTATE for a unique violation. */
  private static final String UNIQUE_VIOLATION = "23505";

  @Override
  public boolean retry(long id) throws SQLException {
    try {
      return retry(List.of(id)) == 1;
    } catch (SQLException e) {
      if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
        return false; // another task of its key became live meanwhile
      }
      throw e;
    }
  }

  private int retry(List<Long> ids) throws SQLException {
    if (ids.isEmpty()) {
      return 0;
    }
    return inTransaction(
        c -> {
          Set<String> queues = new TreeSet<>();
          int n = 0;
          try (PreparedStatement s = c.prepareStatement(RETRY)) {
            s.setArray(1, c.createArrayOf("int8", ids.toArray()));
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                queues.add(r.getString(1));
                n++;
              }
            }
          }
          for (String queue : queues) {
            PostgresNotifications.notifyQueue(c, queue); // delivered at commit
          }
          return n;
        });
  }

  @Override
  public long retryAll(TaskFilter filter) throws SQLException {
    Objects.requireNonNull(filter, "filter");
    Set<TaskState> states = EnumSet.of(TaskState.FAILED, TaskState.CANCELLED);
    if (!filter.states().isEmpty()) {
      states.retainAll(filter.states());
    }
    if (states.isEmpty()) {
      return 0;
    }
    long retried = 0;
    long afterId = 0;
    while (true) {
      List<Long> batch = rows(PostgresAdminSql.retryBatch(filter, states, afterId, RETRY_BATCH), r -> r.getLong(1));
      if (batch.isEmpty()) {
        return retried;
      }
      try {
        retried += retry(batch);
      } catch (SQLException e) {
        if (!UNIQUE_VIOLATION.equals(e.getSQLState())) {
          throw e;
        }
        for (long id : batch) { // a key taken meanwhile: one by one, so only its task stays
          retried += retry(id) ? 1 : 0;
        }
      }
      if (batch.size() < RETRY_BATCH) {
        return retried;
      }
      afterId = batch.getLast();
    }
  }

  @Override
  public boolean cancel(long id) throws SQLException {
    return store.cancel(id);
  }

  @Override
  public boolean delete(long id) throws SQLException {
    return autoCommitted(c -> update(c, "DELETE FROM loomwork_task WHERE id = ? AND state <> 'running'", id) == 1);
  }

  @Override
  public boolean pause(String queue) throws SQLException {
    requireText(queue, "queue");
    return autoCommitted(
        c -> update(c, "INSERT INTO loomwork_paused_queue (queue) VALUES (?) ON CONFLICT DO NOTHING", queue) == 1);
  }

  @Override
  public boolean resume(String queue) throws SQLException {
    requireText(queue, "queue");
    return inTransaction(
        c -> {
          boolean resumed = update(c, "DELETE FROM loomwork_paused_queue WHERE queue = ?", queue) == 1;
          if (resumed) {
            PostgresNotifications.notifyQueue(c, queue); // its workers claim at once, not at their poll
          }
          return resumed;
        });
  }

  @Override
  public List<String> pausedQueues() throws SQLException {
    Sql q = new Sql();
    q.append("SELECT queue FROM loomwork_paused_queue ORDER BY queue");
    return rows(q, r -> r.getString(1));
  }

  @Override
  public List<WorkerInfo> workers() throws SQLException {
    Sql q = new Sql();
    q.append(
        "SELECT w.id, w.queue, w.host, w.pid, w.concurrency, w.started_at, w.heartbeat_at,"
            + " w.expires_at, " + PostgresLeases.WORKER_HANDLERS + ","
            + " (SELECT count(*) FROM loomwork_task t WHERE t.state = 'running' AND t.owner = w.id)"
            + " FROM loomwork_worker w WHERE w.expires_at > now() ORDER BY w.queue, w.id");
    return rows(
        q,
        r -> {
          long pid = r.getLong(4);
          Long pidOrNull = r.wasNull() ? null : pid;
          String[] handlers = (String[]) r.getArray(9).getArray();
          return new WorkerInfo(
              r.getLong(1),
              r.getString(2),
              r.getString(3),
              pidOrNull,
              List.of(handlers),
              r.getInt(5),
              r.getInt(10),
              instant(r, 6),
              instant(r, 7),
              instant(r, 8));
        });
  }

  @Override
  public String toString() {
    return "StoreAdmin[" + store + "]";
  }

  /** A function of the current row of a result set. */
  @FunctionalInterface
  private interface RowReader<T> {
    T read(ResultSet r) throws SQLException;
  }

  /** Runs a query on a borrowed connection and reads each of its rows. */
  private <T> List<T> rows(Sql q, RowReader<T> reader) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s = q.prepare(c);
              ResultSet r = s.executeQuery()) {
            List<T> rows = new ArrayList<>();
            while (r.next()) {
              rows.add(reader.read(r));
            }
            return rows;
          }
        });
  }

  /** Runs an update of one parameter on {@code c}, and returns how many rows it changed. */
  private static int update(Connection c, String sql, Object param) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setObject(1, param);
      return s.executeUpdate();
    }
  }
}
