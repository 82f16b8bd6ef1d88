package dev.loomwork.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.loomwork.RecurringTask;
import dev.loomwork.Schedule;
import dev.loomwork.WorkQueue;
import dev.loomwork.postgres.PostgresStore;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Issue 22's target: {@code schedules} durable recurring tasks due in the same second become tasks
 * within 1 s (p99). Before each iteration (untimed) the schedule table gets {@code schedules} rows of
 * one queue, every one due at the same tick, and the task table is emptied. The measured operation
 * starts a durable queue of that name (its clock stands half a second after the tick, so every row
 * is due and none is missed) and ends when the task table holds one task per row. After it, the
 * iteration prints, from the start: when 99% of the tasks and when all of them were committed (the
 * first look at the table that counted them: the statement time of a count taken every few
 * milliseconds, so at most that much late), and, as before, the p99 and the maximum of the tasks'
 * {@code created_at}: the start of each inserting transaction, which comes before its commit by the
 * whole batch, so it understates the delay. The score adds the queue's start and shutdown.
 *
 * <p>The floor beside it, {@link #fire_jdbcInsertSelect}, makes the same tasks with one {@code
 * INSERT ... SELECT} from the schedule table and one {@code UPDATE}: what one transaction costs
 * without locking rows or computing ticks.
 */
@State(Scope.Benchmark)
@Fork(
    value = 1,
    jvmArgs = {
      "--enable-preview",
      "--sun-misc-unsafe-memory-access=allow",
      "-Xms1g",
      "-Xmx1g",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
    })
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Threads(1)
public class DurableRecurring {
  static final String QUEUE = "recurring";
  static final Instant TICK = Instant.parse("2026-01-01T00:00:00Z");
  static final String CRON = "0 * * * *";
  static final String ZONE = "Europe/Berlin";

  /** Schedules due in the same second. */
  @Param({"10000"})
  public int schedules;

  /**
   * What the rows hold: {@code fixed_rate} (hourly) or {@code cron} ({@code "0 * * * *"} in
   * Europe/Berlin: the firer parses the expression and computes the tick in the zone for each row).
   */
  @Param({"fixed_rate", "cron"})
  public String kind;

  HikariDataSource pool;
  Instant started;

  /** When {@link #awaitTasks()} first counted 99% of the tasks, and all of them (database time). */
  Instant p99Visible;

  Instant allVisible;

  @Setup(Level.Trial)
  public void openPool(DurableServer server) {
    pool = server.pool("recurring", 4);
  }

  @TearDown(Level.Trial)
  public void closePool() {
    pool.close();
  }

  @Setup(Level.Iteration)
  public void insertSchedules(DurableServer server) throws SQLException {
    server.reset();
    server.exec(
        "TRUNCATE loomwork_schedule",
        "INSERT INTO loomwork_schedule (queue, name, handler, payload, kind, expression, zone, period_ns,"
            + " missed, missed_bound, tolerance_ms, next_run_at)"
            + " SELECT '" + QUEUE + "', 's' || i, 'noop', to_jsonb(i), " + columns()
            + ", 'run_once', 1, 10000, '" + TICK + "' FROM generate_series(0, " + (schedules - 1) + ") AS i",
        "ANALYZE loomwork_schedule",
        "CHECKPOINT");
  }

  /** The kind, expression, zone and period_ns of the rows, as SQL. */
  private String columns() {
    return switch (kind) {
      case "fixed_rate" -> "'fixed_rate', NULL, NULL, 3600000000000";
      case "cron" -> "'cron', '" + CRON + "', '" + ZONE + "', NULL";
      default -> throw new IllegalArgumentException("kind: " + kind + " (expected: fixed_rate or cron)");
    };
  }

  /** The schedule the rows hold, as a declaration says it. */
  private Schedule schedule() {
    return kind.equals("cron") ? Schedule.cron(CRON, ZONE) : Schedule.fixedRate(Duration.ofHours(1));
  }

  @TearDown(Level.Iteration)
  public void report(DurableServer server) throws SQLException {
    long tasks = server.count("SELECT count(*) FROM loomwork_task WHERE queue = '" + QUEUE + "'");
    long keys = server.count("SELECT count(DISTINCT unique_key) FROM loomwork_task WHERE queue = '" + QUEUE + "'");
    if (tasks != schedules || keys != schedules) {
      throw new IllegalStateException(tasks + " tasks, " + keys + " keys; expected " + schedules + " of each");
    }
    if (started != null) {
      try (Connection c = pool.getConnection();
          Statement s = c.createStatement();
          ResultSet r =
              s.executeQuery(
                  "SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM created_at) * 1000),"
                      + " max(extract(epoch FROM created_at) * 1000) FROM loomwork_task WHERE queue = '" + QUEUE + "'")) {
        r.next();
        double startMillis = started.toEpochMilli();
        System.out.printf(
            "%n[recurring] %d schedules: committed p99 %d ms, all %d ms;"
                + " created_at p99 %.0f ms, max %.0f ms from the start%n",
            schedules,
            Duration.between(started, p99Visible).toMillis(),
            Duration.between(started, allVisible).toMillis(),
            r.getDouble(1) - startMillis,
            r.getDouble(2) - startMillis);
      }
      started = null;
      p99Visible = null;
      allVisible = null;
    }
  }

  private Instant databaseNow() throws SQLException {
    try (Connection c = pool.getConnection();
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT clock_timestamp()")) {
      r.next();
      return r.getObject(1, java.time.OffsetDateTime.class).toInstant();
    }
  }

  /**
   * Waits until the task table holds one task per row, and notes when a count first saw 99% of them
   * and all of them: the count's {@code statement_timestamp()}, which comes before its snapshot, so
   * every task it counted was committed by then.
   */
  private void awaitTasks() throws SQLException {
    long p99 = (long) Math.ceil(schedules * 0.99);
    long pause = TimeUnit.MICROSECONDS.toNanos(200);
    while (true) {
      long n;
      Instant at;
      // A connection per look, as the queue's own operations borrow them: the pool is theirs too.
      try (Connection c = pool.getConnection();
          Statement s = c.createStatement();
          ResultSet r =
              s.executeQuery(
                  "SELECT count(*), statement_timestamp() FROM loomwork_task WHERE queue = '" + QUEUE + "'")) {
        r.next();
        n = r.getLong(1);
        at = r.getObject(2, java.time.OffsetDateTime.class).toInstant();
      }
      if (n >= p99 && p99Visible == null) {
        p99Visible = at;
      }
      if (n >= schedules) {
        allVisible = at;
        return;
      }
      LockSupport.parkNanos(pause);
      pause = Math.min(pause * 2, TimeUnit.MILLISECONDS.toNanos(5));
    }
  }

  /** A durable queue fires the rows: loomwork's path, locks and tick computation included. */
  @Benchmark
  public void fire_loomwork() throws SQLException {
    PostgresStore store = PostgresStore.builder(pool).pollInterval(Duration.ofMillis(200)).build();
    InstantSource clock = InstantSource.fixed(TICK.plusMillis(500));
    WorkQueue queue =
        WorkQueue.builder(QUEUE)
            .store(store)
            .clock(clock)
            .concurrency(16)
            .handle(DurableServer.NOOP, (ctx, i) -> {})
            // One of the rows, declared as the row holds it: the declaration changes nothing.
            .recurring(
                RecurringTask.of("s0", schedule(), DurableServer.NOOP, 0)
                    .lateTolerance(Duration.ofSeconds(10)))
            .build();
    started = databaseNow();
    queue.start();
    try {
      awaitTasks();
    } finally {
      queue.shutdownNow();
    }
  }

  /** The floor: one INSERT ... SELECT and one UPDATE in one transaction. */
  @Benchmark
  public void fire_jdbcInsertSelect() throws SQLException {
    started = databaseNow();
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.executeUpdate(
            "INSERT INTO loomwork_task (queue, handler, payload, name, max_attempts, unique_key)"
                + " SELECT queue, handler, payload, name, 1, 'loomwork.schedule:' || name || '@' || next_run_at"
                + " FROM loomwork_schedule WHERE queue = '" + QUEUE + "' AND next_run_at <= now()");
        s.executeUpdate(
            "UPDATE loomwork_schedule SET next_run_at = next_run_at + interval '1 hour'"
                + " WHERE queue = '" + QUEUE + "'");
      }
      c.commit();
    }
    allVisible = databaseNow(); // one commit: every task at once
    p99Visible = allVisible;
  }
}
