package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.TaskState;
import dev.loomwork.admin.PageRequest;
import dev.loomwork.admin.TaskFilter;
import dev.loomwork.admin.TaskPage;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The plans PostgreSQL chooses for the admin's pages on a table large enough that the planner
 * prefers an index where one serves ({@value #TASKS} tasks, set-based, {@code ANALYZE}d): for each
 * shape of filter, and for the next page by its cursor, {@code EXPLAIN (ANALYZE, FORMAT JSON)} of
 * the statement {@link PostgresAdminSql} builds must scan {@code loomwork_task} by index only (no
 * sequential scan), and sort at most the few rows the ranges' merge takes (no sort of a large part of
 * the table). A filter of queues, states and creation times (no handler, no error text) must also
 * read few rows: its ranges are exact. A handler or an error text is a condition on the rows of those
 * ranges, so such a page reads the ranges until it has a page of matches: its rows read are printed
 * (with each plan's scans), for the docs, and not bounded here.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresAdminPlanTest {
  static final int TASKS = 100_000;

  /**
   * The most rows a sort of a page may take in (the merge of 5 states × 8 queues × 51 rows, with
   * room), and the most an exact filter's page may read.
   */
  static final long MAX_SORTED = 5_000;

  final DataSource ds;

  PostgresAdminPlanTest(DataSource ds) {
    this.ds = ds;
  }

  /**
   * 8 queues, 4 handlers each (60/25/10/5 %), 90 % ended (85 % of them succeeded, 10 % failed with
   * one of four errors, 5 % cancelled) over 7 days, 10 % ready (a fifth of them waiting), created in
   * the last hour.
   */
  @BeforeAll
  void seed() throws SQLException {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker, loomwork_paused_queue");
    Sql.exec(
        ds,
        "INSERT INTO loomwork_task (queue, handler, payload, state, run_at, attempt, max_attempts, created_at,"
            + " finished_at, last_error)"
            + " SELECT q, q || CASE WHEN r2 < 0.6 THEN '.send' WHEN r2 < 0.85 THEN '.render' WHEN r2 < 0.95"
            + "   THEN '.sync' ELSE '.audit' END, jsonb_build_object('n', i), st,"
            + "   CASE WHEN st = 'ready' AND r3 < 0.2 THEN now() + interval '1 hour' ELSE created END,"
            + "   CASE WHEN st = 'failed' THEN 3 WHEN st = 'succeeded' THEN 1 ELSE 0 END, 3, created,"
            + "   CASE WHEN st <> 'ready' THEN created + interval '1 s' END,"
            + "   CASE WHEN st = 'failed' THEN jsonb_build_object('type', (ARRAY['java.net.SocketTimeoutException',"
            + "     'java.io.IOException', 'java.lang.IllegalStateException', 'com.example.Rejected'])[(1 + (i / 8) % 4)::int],"
            + "     'message', (ARRAY['Read timed out', 'Connection reset', 'no template', 'quota exceeded'])[(1 + (i / 8) % 4)::int])"
            + "   END"
            + " FROM (SELECT i, (ARRAY['email', 'webhooks', 'thumbnails', 'reports', 'billing', 'search', 'exports',"
            + "   'sms'])[(1 + i % 8)::int] AS q, ((i * 7919) % 1000) / 1000.0 AS r2, ((i * 104729) % 997) / 997.0 AS r3,"
            + "   CASE WHEN i % 10 = 0 THEN 'ready' WHEN (i * 31) % 100 < 85 THEN 'succeeded'"
            + "     WHEN (i * 31) % 100 < 95 THEN 'failed' ELSE 'cancelled' END AS st,"
            + "   now() - CASE WHEN i % 10 = 0 THEN interval '1 hour' ELSE interval '7 days' END * (((i * 7907) % 10007) / 10007.0)::float8"
            + "     AS created"
            + "   FROM generate_series(1::bigint, " + TASKS + ") i) x");
    Sql.exec(ds, "VACUUM ANALYZE loomwork_task");
  }

  /** Every shape of filter the console and the API make, with a page of 50 newest first. */
  static Map<String, TaskFilter> shapes() {
    Instant now = Instant.now();
    Map<String, TaskFilter> shapes = new LinkedHashMap<>();
    TaskFilter email = TaskFilter.all().withQueue("email");
    shapes.put("everything", TaskFilter.all());
    shapes.put("queue", email);
    shapes.put("queue, state", email.withStates(TaskState.FAILED));
    shapes.put("queue, ready", email.withStates(TaskState.READY));
    shapes.put("queue, waiting", email.withStates(TaskState.WAITING));
    shapes.put("queue, two states", email.withStates(TaskState.FAILED, TaskState.CANCELLED));
    shapes.put("queue, state, handler", email.withStates(TaskState.FAILED).withHandler("email.render"));
    shapes.put("queue, handler", email.withHandler("email.audit"));
    shapes.put("queue, created", email.withCreated(now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1))));
    shapes.put("queue, state, error text", email.withStates(TaskState.FAILED).withErrorContains("timed out"));
    shapes.put("queue, error text", email.withErrorContains("quota"));
    shapes.put("state", TaskFilter.all().withStates(TaskState.FAILED));
    shapes.put("state, handler", TaskFilter.all().withStates(TaskState.CANCELLED).withHandler("sms.sync"));
    shapes.put("handler", TaskFilter.all().withHandler("reports.render"));
    shapes.put("created", TaskFilter.all().withCreated(now.minus(Duration.ofHours(30)), now.minus(Duration.ofHours(29))));
    shapes.put("error text", TaskFilter.all().withErrorContains("reset"));
    return shapes;
  }

  @Test
  void everyPageReadsItsRangesByIndexAndSortsOnlyThePage() throws SQLException {
    List<String> failures = new ArrayList<>();
    PostgresStore store = PostgresStore.of(ds);
    for (Map.Entry<String, TaskFilter> shape : shapes().entrySet()) {
      TaskFilter f = shape.getValue();
      boolean exact = f.handler() == null && f.errorContains() == null;
      for (PageRequest first : List.of(PageRequest.newestFirst(50), PageRequest.oldestFirst(50))) {
        TaskPage page = store.admin().list(f, first);
        String name = shape.getKey() + ", " + first.order();
        check(name, PostgresAdminSql.page(f, first), exact, failures);
        if (page.hasNext()) {
          check(name + ", next page", PostgresAdminSql.page(f, first.after(page.next())), exact, failures);
        }
      }
    }
    assertEquals(List.of(), failures, "plans that scan the task table or sort much of it");
  }

  @Test
  void theSeedIsLargeEnoughThatTheTableAloneWouldBeScanned() throws SQLException {
    // Without the admin's index, the planner would scan: the check above can fail.
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      Sql.exec(c, "DROP INDEX loomwork_task_admin");
      String plan = plan(c, PostgresAdminSql.page(TaskFilter.all().withQueue("email").withStates(TaskState.FAILED),
          PageRequest.newestFirst(50)));
      c.rollback();
      assertTrue(nodes(c, plan, "Seq Scan").contains("loomwork_task") || maxSorted(c, plan) > MAX_SORTED, plan);
    }
  }

  private void check(String name, PostgresAdminSql.Sql q, boolean exact, List<String> failures) throws SQLException {
    try (Connection c = ds.getConnection()) {
      String plan = plan(c, q);
      List<String> seq = nodes(c, plan, "Seq Scan");
      long sorted = maxSorted(c, plan);
      long read = rowsRead(c, plan);
      System.out.printf("[plan] %-50s reads %6d rows, sorts at most %4d: %s%n", name, read, sorted, summary(c, plan));
      if (seq.contains("loomwork_task") || sorted > MAX_SORTED || (exact && read > MAX_SORTED)) {
        failures.add(name + " (reads " + read + " rows, sorts " + sorted + "): " + plan);
      }
    }
  }

  private static String plan(Connection c, PostgresAdminSql.Sql q) throws SQLException {
    try (PreparedStatement s = q.prepare(c, "EXPLAIN (ANALYZE, FORMAT JSON) ");
        ResultSet r = s.executeQuery()) {
      r.next();
      return r.getString(1);
    }
  }

  /** The relations scanned by nodes of the type, in the plan. */
  private static List<String> nodes(Connection c, String plan, String type) throws SQLException {
    List<String> relations = new ArrayList<>();
    try (PreparedStatement s =
        c.prepareStatement("SELECT jsonb_path_query(?::jsonb, 'strict $.** ? (@.\"Node Type\" == $t).\"Relation Name\"',"
            + " jsonb_build_object('t', ?::text)) #>> '{}'")) {
      s.setString(1, plan);
      s.setString(2, type);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          relations.add(r.getString(1));
        }
      }
    }
    return relations;
  }

  /** The most rows any sort of the plan took in (its input's rows times its loops). */
  private static long maxSorted(Connection c, String plan) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement("SELECT coalesce(max(((p ->> 'Actual Rows')::numeric * (p ->> 'Actual Loops')::numeric)::bigint), 0)"
            + " FROM jsonb_path_query(?::jsonb, 'strict $.** ? (@.\"Node Type\" == \"Sort\").Plans[*]') p")) {
      s.setString(1, plan);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getLong(1);
      }
    }
  }

  /** The rows the plan's scans of the task table read: those they returned and those they filtered out. */
  private static long rowsRead(Connection c, String plan) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement("SELECT coalesce(sum(((p ->> 'Actual Rows')::numeric + coalesce((p ->> 'Rows Removed by Filter')::numeric, 0))"
            + " * (p ->> 'Actual Loops')::numeric)::bigint, 0)"
            + " FROM jsonb_path_query(?::jsonb, 'strict $.** ? (@.\"Relation Name\" == \"loomwork_task\")') p")) {
      s.setString(1, plan);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getLong(1);
      }
    }
  }

  /** The plan's scans of the task table, by node type and index. */
  private static String summary(Connection c, String plan) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement("SELECT string_agg(DISTINCT (p ->> 'Node Type') || coalesce(' ' || (p ->> 'Index Name'), ''), ', ')"
            + " FROM jsonb_path_query(?::jsonb, 'strict $.** ? (@.\"Relation Name\" == \"loomwork_task\")') p")) {
      s.setString(1, plan);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getString(1);
      }
    }
  }
}
