package dev.loomwork.postgres;

import dev.loomwork.TaskState;
import dev.loomwork.admin.PageRequest;
import dev.loomwork.admin.TaskFilter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * How {@link PostgresAdmin} turns a {@link TaskFilter} into SQL: the statements of a page, of the
 * counts and of a bulk retry's batches, each with its parameters bound in order. Nothing here runs a
 * statement; {@code PostgresAdminPlanTest} explains each shape on a large table.
 *
 * <h2>Pages</h2>
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
 * <p>The handler, the creation times and the error text are conditions on the rows each range
 * reads (the creation times bound the range itself, being its third column). The error text is an
 * {@code ILIKE} on the last error's type and message, which no b-tree serves: it is checked on the
 * rows of the queue and state ranges, so it costs what reading those ranges up to a page of matches
 * costs.
 */
final class PostgresAdminSql {
  private PostgresAdminSql() {}

  /** The loose index scan: every queue of the table, one index probe per queue. */
  private static final String QUEUES =
      "WITH RECURSIVE q (queue) AS ("
          + " (SELECT queue FROM loomwork_task ORDER BY queue LIMIT 1)"
          + " UNION ALL"
          + " SELECT (SELECT t.queue FROM loomwork_task t WHERE t.queue > q.queue ORDER BY t.queue LIMIT 1)"
          + " FROM q WHERE q.queue IS NOT NULL"
          + ")";

  /** The state a row shows: {@code waiting} for a ready task not yet due. */
  private static final String SHOWN_STATE =
      "CASE WHEN t.state = 'ready' AND t.run_at > now() THEN 'waiting' ELSE t.state END";

  /**
   * The columns of a {@code TaskSummary}, in the order {@link PostgresAdmin} reads them: id, queue,
   * name, handler, shown state, attempt, max attempts, created, run at, finished, error type, error
   * message.
   */
  private static final String SUMMARY_COLUMNS =
      "t.id, t.queue, t.name, t.handler, " + SHOWN_STATE + " AS shown,"
          + " t.attempt, t.max_attempts, t.created_at, t.run_at, t.finished_at,"
          + " t.last_error ->> 'type' AS error_type, t.last_error ->> 'message' AS error_message";

  /**
   * One page and one more row of the tasks {@code filter} matches, in the page's order, from {@code
   * page}'s cursor on: {@link #SUMMARY_COLUMNS}.
   *
   * @throws IllegalArgumentException if {@code page.after()} is not a cursor of this admin
   */
  static Sql page(TaskFilter filter, PageRequest page) {
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
    return q;
  }

  /** The counts of the tasks {@code filter} matches: queue, handler, shown state, count. */
  static Sql counts(TaskFilter filter) {
    Sql q = new Sql();
    q.append("SELECT queue, handler, " + SHOWN_STATE + ", count(*) FROM loomwork_task t WHERE true");
    matching(q, filter, filter.states());
    q.append(" GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
    return q;
  }

  /**
   * The ids of the next batch of a bulk retry: at most {@code limit} tasks {@code filter} matches in
   * {@code states}, by id, after {@code afterId}.
   */
  static Sql retryBatch(TaskFilter filter, Set<TaskState> states, long afterId, int limit) {
    Sql q = new Sql();
    q.append("SELECT t.id FROM loomwork_task t WHERE t.id > ?", afterId);
    matching(q, filter, states);
    q.append(" ORDER BY t.id LIMIT " + limit);
    return q;
  }

  /** {@code AND}s the filter's queue, {@code states} (none: any) and its other conditions. */
  private static void matching(Sql q, TaskFilter filter, Set<TaskState> states) {
    if (filter.queue() != null) {
      q.append(" AND t.queue = ?", filter.queue());
    }
    if (!states.isEmpty()) {
      q.append(" AND (false");
      for (String branch : stateBranches(states)) {
        q.append(" OR (" + branch + ")");
      }
      q.append(")");
    }
    conditions(q, filter);
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

  /** A statement being built, with its parameters in order. Not thread-safe. */
  static final class Sql {
    private final StringBuilder text = new StringBuilder(512);
    private final List<Object> params = new ArrayList<>();

    void append(String sql, Object... values) {
      text.append(sql);
      params.addAll(List.of(values));
    }

    /** The statement's text, with a {@code ?} for each parameter. */
    String text() {
      return text.toString();
    }

    /** Prepares the statement on {@code c} with its parameters bound; the caller closes it. */
    PreparedStatement prepare(Connection c) throws SQLException {
      return prepare(c, "");
    }

    /** As {@link #prepare(Connection)}, with {@code prefix} (such as {@code EXPLAIN}) before the text. */
    PreparedStatement prepare(Connection c, String prefix) throws SQLException {
      PreparedStatement s = c.prepareStatement(prefix + text);
      try {
        for (int i = 0; i < params.size(); i++) {
          Object p = params.get(i);
          switch (p) {
            case String v -> s.setString(i + 1, v);
            case Long v -> s.setLong(i + 1, v);
            case Instant v -> PostgresOperations.setInstant(s, i + 1, v);
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
