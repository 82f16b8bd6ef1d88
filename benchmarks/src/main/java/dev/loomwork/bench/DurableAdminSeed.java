package dev.loomwork.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A store that looks as if it had run for a week: {@code ended} ended tasks and {@code ready} ready
 * or waiting ones, inserted by two set-based statements ({@code INSERT ... SELECT generate_series},
 * drawn from a seeded {@code random()}, so every run seeds the same rows), then {@code ANALYZE}d and
 * checkpointed.
 *
 * <ul>
 *   <li>Queues: {@link #QUEUES}, evenly.
 *   <li>Handlers, within each queue: {@code <queue>.send} 60 %, {@code .render} 25 %, {@code .sync}
 *       10 %, {@code .audit} 5 %.
 *   <li>Ended tasks: 85 % succeeded (one in ten after a retry), 10 % failed after 3 attempts, 5 %
 *       cancelled; ended up to 5 s after they were created, the succeeded ones in the last 23 hours
 *       and the others in the last 7 days less an hour: what the store's default retention keeps (24
 *       hours and 7 days), so that a queue's housekeeping has nothing to prune while it is measured. A failed task's last error is
 *       one of four types with a message naming a host, and a stack of 12 frames (about 700
 *       characters); its history holds 3 attempts, each with its error, as the store writes them.
 *   <li>Ready tasks: created in the last hour; 80 % due, 20 % waiting (for a retry, after one failed
 *       attempt, or a not-before time), up to an hour ahead.
 * </ul>
 */
final class DurableAdminSeed {
  private DurableAdminSeed() {}

  static final String[] QUEUES = {"email", "webhooks", "thumbnails", "reports", "billing", "search", "exports", "sms"};

  private static final String QUEUE_ARRAY = "ARRAY['" + String.join("','", QUEUES) + "']";

  /** A handler of the queue {@code q}, from the uniform draw {@code r}. */
  private static String handler(String q, String r) {
    return q + " || CASE WHEN " + r + " < 0.6 THEN '.send' WHEN " + r + " < 0.85 THEN '.render' WHEN "
        + r + " < 0.95 THEN '.sync' ELSE '.audit' END";
  }

  /** An error object of task {@code i}: one of four types; the stack names the task. */
  private static String error(String i) {
    return "jsonb_build_object('type', (ARRAY['java.net.SocketTimeoutException', 'java.io.IOException',"
        + " 'java.lang.IllegalStateException', 'com.example.billing.RemoteRejected'])[1 + " + i + " % 4],"
        + " 'message', (ARRAY['Read timed out after 30000 ms', 'Connection reset by peer',"
        + " 'template not found: welcome-v', 'rejected by the remote: quota exceeded'])[1 + " + i + " % 4]"
        + " || ' (host app-' || (" + i + " % 50) || '.example.com)',"
        + " 'stack', 'java.net.SocketTimeoutException: Read timed out' || repeat(E'\\n\\tat com.example.mail.SmtpClient.read(SmtpClient.java:' || (" + i + " % 900) || ')', 12))";
  }

  private static String micros(String t) {
    return "(extract(epoch FROM " + t + ") * 1000000)::bigint";
  }

  /** Inserts the rows, then {@code ANALYZE} and {@code CHECKPOINT}. Prints how long it took. */
  static void seed(DurableServer server, int ended, int ready) throws SQLException {
    long t0 = System.nanoTime();
    String endedRows =
        "INSERT INTO loomwork_task (queue, handler, payload, state, run_at, attempt, max_attempts, created_at,"
            + " updated_at, attempted_at, finished_at, last_error, attempts)"
            + " SELECT d.queue, d.handler, jsonb_build_object('n', x.i, 'to', 'user' || x.i || '@example.com',"
            + "   'template', 'welcome'), d.state, d.created, e.made, 3, d.created, e.finished,"
            + "   e.finished - interval '200 ms', e.finished,"
            + "   CASE WHEN d.state = 'failed' OR e.made > 1 THEN " + error("x.i") + " END,"
            + "   (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('attempt', a,"
            + "     'started', " + micros("d.created + a * interval '1 s'") + ","
            + "     'ended', " + micros("d.created + a * interval '1 s' + interval '200 ms'") + ","
            + "     'worker', 1 + x.i % 16,"
            + "     'outcome', CASE WHEN a < e.made THEN 'retried' ELSE d.state END,"
            + "     'error', CASE WHEN a < e.made OR d.state = 'failed' THEN " + error("(x.i + a)") + " END)) ORDER BY a)"
            + "    FROM generate_series(1, e.made) a)"
            + " FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4"
            + "   FROM generate_series(1, " + ended + ") i) x"
            + " CROSS JOIN LATERAL (SELECT (" + QUEUE_ARRAY + ")[1 + floor(x.r1 * 8)::int] AS q) qq"
            + " CROSS JOIN LATERAL (SELECT qq.q AS queue, " + handler("qq.q", "x.r2") + " AS handler,"
            + "   CASE WHEN x.r3 < 0.85 THEN 'succeeded' WHEN x.r3 < 0.95 THEN 'failed' ELSE 'cancelled' END AS state,"
            + "   now() - x.r4 * CASE WHEN x.r3 < 0.85 THEN interval '23 hours' ELSE interval '6 days 23 hours' END"
            + "   AS created) d"
            + " CROSS JOIN LATERAL (SELECT CASE d.state WHEN 'failed' THEN 3 WHEN 'cancelled' THEN 0"
            + "   ELSE 1 + (x.i % 10 = 0)::int END AS made,"
            + "   d.created + (1000 + x.i % 4000) * interval '1 ms' AS finished) e";
    String readyRows =
        "INSERT INTO loomwork_task (queue, handler, payload, state, run_at, attempt, max_attempts, created_at,"
            + " updated_at, last_error, attempts)"
            + " SELECT d.queue, d.handler, jsonb_build_object('n', x.i, 'to', 'user' || x.i || '@example.com',"
            + "   'template', 'welcome'), 'ready',"
            + "   CASE WHEN x.r3 < 0.8 THEN d.created ELSE now() + x.r3 * interval '1 hour' END,"
            + "   e.made, 3, d.created, d.created,"
            + "   CASE WHEN e.made > 0 THEN " + error("x.i") + " END,"
            + "   CASE WHEN e.made > 0 THEN jsonb_build_array(jsonb_build_object('attempt', 1,"
            + "     'started', " + micros("d.created") + ", 'ended', " + micros("d.created + interval '200 ms'") + ","
            + "     'worker', 1 + x.i % 16, 'outcome', 'retried', 'error', " + error("x.i") + ")) END"
            + " FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4"
            + "   FROM generate_series(1, " + ready + ") i) x"
            + " CROSS JOIN LATERAL (SELECT (" + QUEUE_ARRAY + ")[1 + floor(x.r1 * 8)::int] AS q) qq"
            + " CROSS JOIN LATERAL (SELECT qq.q AS queue, " + handler("qq.q", "x.r2") + " AS handler,"
            + "   now() - x.r4 * interval '1 hour' AS created) d"
            + " CROSS JOIN LATERAL (SELECT CASE WHEN x.r3 >= 0.8 AND x.i % 2 = 0 THEN 1 ELSE 0 END AS made) e";
    server.exec("SELECT setseed(0.21)", endedRows, readyRows, "VACUUM ANALYZE loomwork_task", "CHECKPOINT");
    long rows = server.count("SELECT count(*) FROM loomwork_task");
    if (rows != (long) ended + ready) {
      throw new IllegalStateException(rows + " rows seeded; expected " + ((long) ended + ready));
    }
    System.out.printf(
        "%n[admin] seeded %,d ended and %,d ready tasks in %d ms; the table takes %s%n",
        ended, ready, (System.nanoTime() - t0) / 1_000_000,
        text(server, "SELECT pg_size_pretty(pg_total_relation_size('loomwork_task'))"));
  }

  static String text(DurableServer server, String sql) throws SQLException {
    try (Connection c = server.admin();
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getString(1);
    }
  }
}
