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
import dev.loomwork.postgres.PostgresTypes.StoredTask;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
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
 * task's detail or a bulk retry) on a connection borrowed from the store's data source.
 *
 * <h2>Lists</h2>
 *
 * A page is a keyset page over the index {@code loomwork_task_admin (queue, state, created_at,
 * id)}. PostgreSQL cannot read one index range in order across several queues or states, so the
 * statement reads one range per queue and state: the queues are the filter's one, or every queue in
 * the table found by a loose index scan (a recursive CTE that jumps from one queue to the next in
 * the index, one probe per queue), and the states are the filter's, or all five. Each range is read
 * in the page's order from the cursor on, at most a page and one; the ranges are merged and cut to
 * a page and one. The extra row says whether another page follows. Readying and waiting tasks share
 * the {@code ready} range, split by {@code run_at} against the database's now().
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
    Sql q = new Sql();
    q.append("SELECT queue, handler, CASE WHEN state = 'ready' AND run_at > now() THEN 'waiting' ELSE state END,");
    q.append(" count(*) FROM loomwork_task t WHERE true");
    if (filter.queue() != null) {
      q.append(" AND t.queue = ?", filter.queue());
    }
    if (!filter.states().isEmpty()) {
      q.append(" AND (false");
      for (String branch : stateBranches(filter.states())) {
        q.append(" OR (" + branch + ")");
      }
      q.append(")");
    }
    conditions(q, filter);
    q.append(" GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
    return autoCommitted(
        c -> {
          try (PreparedStatement s = q.prepare(c);
              ResultSet r = s.executeQuery()) {
            List<TaskCount> counts = new ArrayList<>();
            while (r.next()) {
              counts.add(new TaskCount(r.getString(1), r.getString(2), state(r.getString(3)), r.getLong(4)));
            }
            counts.sort(COUNT_ORDER); // the states in their life's order, as MemoryAdmin's
            return counts;
          }
        });
  }

  private static final java.util.Comparator<TaskCount> COUNT_ORDER =
      java.util.Comparator.comparing(TaskCount::queue)
          .thenComparing(TaskCount::handler)
          .thenComparing(TaskCount::state);

  // ---- lists -------------------------------------------------------------------------------

  private static final String QUEUES =
      "WITH RECURSIVE q (queue) AS ("
          + " (SELECT queue FROM loomwork_task ORDER BY queue LIMIT 1)"
          + " UNION ALL"
          + " SELECT (SELECT t.queue FROM loomwork_task t WHERE t.queue > q.queue ORDER BY t.queue LIMIT 1)"
          + " FROM q WHERE q.queue IS NOT NULL"
          + ")";

  private static final String SUMMARY_COLUMNS =
      "t.id, t.queue, t.name, t.handler,"
          + " CASE WHEN t.state = 'ready' AND t.run_at > now() THEN 'waiting' ELSE t.state END AS shown,"
          + " t.attempt, t.max_attempts, t.created_at, t.run_at, t.finished_at,"
          + " t.last_error ->> 'type' AS error_type, t.last_error ->> 'message' AS error_message";

  @Override
  public TaskPage list(TaskFilter filter, PageRequest page) throws SQLException {
    Objects.requireNonNull(filter, "filter");
    Objects.requireNonNull(page, "page");
    Cursor after = page.after() == null ? null : Cursor.parse(page.after());
    boolean newest = page.order() == PageRequest.Order.NEWEST_FIRST;
    String dir = newest ? " DESC" : "";
    int limit = page.size() + 1;
    Sql q = new Sql();
    if (filter.queue() == null) {
      q.append(QUEUES);
    } else {
      q.append("WITH q (queue) AS (SELECT ?::text)", filter.queue());
    }
    q.append(" SELECT x.* FROM q CROSS JOIN LATERAL (");
    List<String> branches = stateBranches(filter.states().isEmpty() ? EnumSet.allOf(TaskState.class) : filter.states());
    for (int i = 0; i < branches.size(); i++) {
      q.append(i == 0 ? "(" : " UNION ALL (");
      q.append("SELECT " + SUMMARY_COLUMNS + " FROM loomwork_task t WHERE t.queue = q.queue AND " + branches.get(i));
      conditions(q, filter);
      if (after != null) {
        q.append(" AND (t.created_at, t.id) " + (newest ? "<" : ">") + " (?, ?)", after.created(), after.id());
      }
      q.append(" ORDER BY t.created_at" + dir + ", t.id" + dir + " LIMIT " + limit + ")");
    }
    q.append(") x WHERE q.queue IS NOT NULL ORDER BY x.created_at" + dir + ", x.id" + dir + " LIMIT " + limit);
    return autoCommitted(
        c -> {
          try (PreparedStatement s = q.prepare(c);
              ResultSet r = s.executeQuery()) {
            List<TaskSummary> tasks = new ArrayList<>();
            Instant lastCreated = null;
            long lastId = 0;
            while (r.next()) {
              if (tasks.size() == page.size()) {
                return new TaskPage(tasks, new Cursor(Objects.requireNonNull(lastCreated), lastId).toString());
              }
              tasks.add(summary(r));
              lastCreated = instant(r, 8);
              lastId = r.getLong(1);
            }
            return new TaskPage(tasks, null);
          }
        });
  }

  /** The SQL condition of each range a set of states reads: ready and waiting share one. */
  private static List<String> stateBranches(Set<TaskState> states) {
    Set<String> branches = new LinkedHashSet<>();
    boolean ready = states.contains(TaskState.READY);
    boolean waiting = states.contains(TaskState.WAITING);
    if (ready && waiting) {
      branches.add("t.state = 'ready'");
    } else if (ready) {
      branches.add("t.state = 'ready' AND t.run_at <= now()");
    } else if (waiting) {
      branches.add("t.state = 'ready' AND t.run_at > now()");
    }
    for (TaskState s : List.of(TaskState.RUNNING, TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)) {
      if (states.contains(s)) {
        branches.add("t.state = '" + s.name().toLowerCase(Locale.ROOT) + "'");
      }
    }
    return List.copyOf(branches);
  }

  /** The filter's conditions but its queue and states, each {@code AND}ed. */
  private static void conditions(Sql q, TaskFilter filter) {
    if (filter.handler() != null) {
      q.append(" AND t.handler = ?", filter.handler());
    }
    if (filter.createdFrom() != null) {
      q.append(" AND t.created_at >= ?", filter.createdFrom());
    }
    if (filter.createdBefore() != null) {
      q.append(" AND t.created_at < ?", filter.createdBefore());
    }
    if (filter.errorContains() != null) {
      String like = "%" + filter.errorContains().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
      q.append(
          " AND t.last_error IS NOT NULL AND ((t.last_error ->> 'type') ILIKE ? OR (t.last_error ->> 'message') ILIKE ?)",
          like,
          like);
    }
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

  /**
   * Where a page ends: the last task's creation time and id. Written {@code s1.MICROS.ID}; the
   * version prefix lets a later format refuse an old cursor with a clear error.
   */
  record Cursor(Instant created, long id) {
    private static final String PREFIX = "s1.";

    static Cursor parse(String text) {
      if (text.startsWith(PREFIX)) {
        String[] parts = text.substring(PREFIX.length()).split("\\.", -1);
        if (parts.length == 2) {
          try {
            long micros = Long.parseLong(parts[0]);
            long id = Long.parseLong(parts[1]);
            return new Cursor(Instant.EPOCH.plus(micros, ChronoUnit.MICROS), id);
          } catch (NumberFormatException | ArithmeticException | java.time.DateTimeException e) {
            // refused below
          }
        }
      }
      throw new IllegalArgumentException(
          "after: '" + text + "' (expected: a cursor from a StoreAdmin's TaskPage.next())");
    }

    @Override
    public String toString() {
      return PREFIX + ChronoUnit.MICROS.between(Instant.EPOCH, created) + "." + id;
    }
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
      Sql q = new Sql();
      q.append("SELECT t.id FROM loomwork_task t WHERE t.id > ?", afterId);
      if (filter.queue() != null) {
        q.append(" AND t.queue = ?", filter.queue());
      }
      q.append(" AND (false");
      for (String branch : stateBranches(states)) {
        q.append(" OR (" + branch + ")");
      }
      q.append(")");
      conditions(q, filter);
      q.append(" ORDER BY t.id LIMIT " + RETRY_BATCH);
      List<Long> batch =
          autoCommitted(
              c -> {
                try (PreparedStatement s = q.prepare(c);
                    ResultSet r = s.executeQuery()) {
                  List<Long> ids = new ArrayList<>();
                  while (r.next()) {
                    ids.add(r.getLong(1));
                  }
                  return ids;
                }
              });
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
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement("DELETE FROM loomwork_task WHERE id = ? AND state <> 'running'")) {
            s.setLong(1, id);
            return s.executeUpdate() == 1;
          }
        });
  }

  @Override
  public boolean pause(String queue) throws SQLException {
    requireText(queue, "queue");
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement("INSERT INTO loomwork_paused_queue (queue) VALUES (?) ON CONFLICT DO NOTHING")) {
            s.setString(1, queue);
            return s.executeUpdate() == 1;
          }
        });
  }

  @Override
  public boolean resume(String queue) throws SQLException {
    requireText(queue, "queue");
    return inTransaction(
        c -> {
          boolean resumed;
          try (PreparedStatement s = c.prepareStatement("DELETE FROM loomwork_paused_queue WHERE queue = ?")) {
            s.setString(1, queue);
            resumed = s.executeUpdate() == 1;
          }
          if (resumed) {
            PostgresNotifications.notifyQueue(c, queue); // its workers claim at once, not at their poll
          }
          return resumed;
        });
  }

  @Override
  public List<String> pausedQueues() throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s = c.prepareStatement("SELECT queue FROM loomwork_paused_queue ORDER BY queue");
              ResultSet r = s.executeQuery()) {
            List<String> queues = new ArrayList<>();
            while (r.next()) {
              queues.add(r.getString(1));
            }
            return queues;
          }
        });
  }

  @Override
  public List<WorkerInfo> workers() throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
                  c.prepareStatement(
                      "SELECT w.id, w.queue, w.host, w.pid, w.concurrency, w.started_at, w.heartbeat_at,"
                          + " w.expires_at, " + PostgresLeases.WORKER_HANDLERS + ","
                          + " (SELECT count(*) FROM loomwork_task t WHERE t.state = 'running' AND t.owner = w.id)"
                          + " FROM loomwork_worker w WHERE w.expires_at > now() ORDER BY w.queue, w.id");
              ResultSet r = s.executeQuery()) {
            List<WorkerInfo> workers = new ArrayList<>();
            while (r.next()) {
              long pid = r.getLong(4);
              Long pidOrNull = r.wasNull() ? null : pid;
              String[] handlers = (String[]) r.getArray(9).getArray();
              workers.add(
                  new WorkerInfo(
                      r.getLong(1),
                      r.getString(2),
                      r.getString(3),
                      pidOrNull,
                      List.of(handlers),
                      r.getInt(5),
                      r.getInt(10),
                      instant(r, 6),
                      instant(r, 7),
                      instant(r, 8)));
            }
            return workers;
          }
        });
  }

  @Override
  public String toString() {
    return "StoreAdmin[" + store + "]";
  }

  /** A statement being built, with its parameters in order. */
  private static final class Sql {
    private final StringBuilder text = new StringBuilder(512);
    private final List<Object> params = new ArrayList<>();

    void append(String sql, Object... values) {
      text.append(sql);
      params.addAll(List.of(values));
    }

    PreparedStatement prepare(Connection c) throws SQLException {
      PreparedStatement s = c.prepareStatement(text.toString());
      try {
        for (int i = 0; i < params.size(); i++) {
          Object p = params.get(i);
          switch (p) {
            case String v -> s.setString(i + 1, v);
            case Long v -> s.setLong(i + 1, v);
            case Instant v -> setInstant(s, i + 1, v);
            default -> throw new AssertionError("parameter type: " + p.getClass());
          }
        }
        return s;
      } catch (SQLException | RuntimeException e) {
        s.close();
        throw e;
      }
    }
  }
}
