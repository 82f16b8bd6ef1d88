package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static dev.loomwork.postgres.DurableQueueTest.JOB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.loomwork.LogCapture;
import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.postgres.PostgresExtension.Database;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The durable store under faults (issue 20): what happens around its core when a worker dies, the
 * schema is missing, a LISTEN backend is killed, two enqueues interleave with the NOTIFY debounce,
 * and ended tasks are kept for zero seconds. Each test here failed before its fix.
 */
@ExtendWith(PostgresExtension.class)
class StoreFaultsTest {
  static {
    // HikariCP skips its liveness check of a connection used within the last 500 ms; the check
    // would hide a dead connection handed back to the pool, which is what point 11 looks for.
    System.setProperty("com.zaxxer.hikari.aliveBypassWindowMs", Long.toString(TimeUnit.DAYS.toMillis(1)));
  }

  final DataSource ds;
  final PostgresTasks tasks;

  StoreFaultsTest(StoreFixture store) {
    this.ds = store.ds();
    this.tasks = store.tasks();
  }

  // ---- point 6: the first step before migrate() ----

  @Test
  void anEnqueueBeforeMigrateSaysWhatIsWrongAndWhatToCall() throws Exception {
    try (Database empty = PostgresExtension.createDatabase(false)) {
      PostgresStore store = PostgresStore.of(empty.dataSource());
      SQLException own = assertThrows(SQLException.class, () -> store.enqueue("q", Task.of(JOB, 1)));
      assertTrue(own.getMessage().contains("tables are missing") && own.getMessage().contains("PostgresStore.migrate()"),
          own.getMessage());
      try (Connection c = empty.dataSource().getConnection()) {
        c.setAutoCommit(false);
        SQLException caller = assertThrows(SQLException.class, () -> store.enqueue(c, "q", Task.of(JOB, 1)));
        assertTrue(caller.getMessage().contains("PostgresStore.migrate()"), caller.getMessage());
        c.rollback();
      }

      assertEquals(PostgresSchema.VERSION, store.migrate(), "the version the database has after it ran");
      assertEquals(PostgresSchema.VERSION, store.migrate(), "and again, with nothing to do");
      assertTrue(store.enqueue("q", Task.of(JOB, 1)) > 0);
    }
  }

  @Test
  void aWorkerStartedBeforeMigrateSaysWhatToCallAndRunsOnceMigrated() throws Exception {
    try (Database empty = PostgresExtension.createDatabase(false);
        LogCapture logs = new LogCapture()) {
      PostgresStore store = PostgresStore.builder(empty.dataSource()).pollInterval(Duration.ofMillis(100)).build();
      DurableQueueTest.Ends ends = new DurableQueueTest.Ends(1);
      WorkQueue q = WorkQueue.builder("early").store(store).handle(JOB, (ctx, p) -> {}).listener(ends).build();
      q.start();
      try {
        logs.await(1, m -> m.contains("queue 'early'") && m.contains("failed"), GENEROUS);
        assertTrue(
            logs.events().stream().anyMatch(
                e -> e.getFormattedMessage().contains("PostgresStore.migrate()") || causeMentions(e, "PostgresStore.migrate()")),
            "the worker's line says to call migrate()");

        store.migrate();
        store.enqueue("early", Task.of(JOB, 1));
        ends.await();
      } finally {
        q.shutdown();
      }
    }
  }

  private static boolean causeMentions(ILoggingEvent e, String text) {
    for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains(text)) {
        return true;
      }
    }
    return false;
  }

  // ---- point 12: retention zero ----

  @Test
  void retentionZeroDeletesEndedTasksWhenTheyEndNotAtTheNextPruning() throws Exception {
    PostgresStore store =
        PostgresStore.builder(ds).retention(Duration.ZERO, Duration.ZERO).pollInterval(Duration.ofMillis(100)).build();
    DurableQueueTest.Ends ends = new DurableQueueTest.Ends(2);
    WorkQueue q = WorkQueue.builder("zero").store(store).handle(JOB, (ctx, p) -> {
          if (p == 1) {
            throw new IllegalArgumentException("fails for good");
          }
        })
        .listener(ends)
        .build();
    long succeeds = store.enqueue("zero", Task.of(JOB, 0));
    long fails = store.enqueue("zero", Task.of(JOB, 1).retries(0));
    long waiting = store.enqueue("zero", Task.of(JOB, 2).delay(Duration.ofHours(1)));
    q.start();
    try {
      ends.await();
      assertTrue(store.find(succeeds).isEmpty(), "a succeeded task is gone when its end is published");
      assertTrue(store.find(fails).isEmpty(), "a failed task is gone when its end is published");
      assertTrue(store.cancel(waiting));
      assertTrue(store.find(waiting).isEmpty(), "a cancelled waiting task is gone at once");
    } finally {
      q.shutdown();
    }
  }

  // ---- point 9: the meters and the log of a rescue ----

  @Test
  void aRescueIsCountedByTheRescuedTasksQueueAndLoggedOnce() throws Exception {
    long dead = tasks.register("email", Duration.ofMinutes(5));
    tasks.enqueue(NewTask.of("email", "job", "1").maxAttempts(3));
    Claimed lost = tasks.claim("email", List.of("job"), dead, 1).tasks().getFirst();
    Sql.exec(ds, "UPDATE loomwork_worker SET expires_at = now() - interval '3 seconds' WHERE id = ?", dead);

    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    PostgresStore store = PostgresStore.builder(ds).rescueInterval(Duration.ofMillis(50)).build();
    try (LogCapture logs = new LogCapture()) {
      WorkQueue q = WorkQueue.builder("webhooks").store(store).handle(JOB, (ctx, p) -> {}).meterRegistry(registry).build();
      q.start();
      try {
        List<String> lines = logs.await(1, m -> m.contains("rescued worker " + dead), GENEROUS);
        String line = lines.getFirst();
        assertTrue(line.contains("of queue 'email'") && line.contains(": 1 task(s)") && line.contains("ms after its lease expired"),
            line);
      } finally {
        q.shutdown();
      }
      assertEquals(1, logs.messages(ch.qos.logback.classic.Level.INFO, m -> m.contains("rescued worker")).size(),
          "one line per rescued worker");
    }
    assertEquals(1.0, registry.get("loomwork.store.rescued").tag("queue", "email").counter().count(),
        "tagged by the rescued task's queue");
    assertEquals(0.0, registry.get("loomwork.store.rescued").tag("queue", "webhooks").counter().count());
    assertEquals("ready", Sql.value(ds, "SELECT state FROM loomwork_task WHERE id = ?", lost.id()));
  }

  // ---- point 11: a broken LISTEN connection never goes back to the application's pool ----

  @Test
  void aBrokenListenConnectionIsDiscardedNotReturnedToThePool() throws Exception {
    HikariConfig config = new HikariConfig();
    config.setDataSource(ds);
    config.setMaximumPoolSize(8);
    config.setMinimumIdle(0);
    config.setPoolName("faults-test");
    try (HikariDataSource pool = new HikariDataSource(config);
        LogCapture logs = new LogCapture()) {
      // Wake-ups only: a poll would hide a lost subscription.
      PostgresStore store = PostgresStore.builder(pool).pollInterval(Duration.ofHours(1)).build();
      DurableQueueTest.Ends ends = new DurableQueueTest.Ends(1);
      WorkQueue q = WorkQueue.builder("listened").store(store).handle(JOB, (ctx, p) -> {}).listener(ends).build();
      q.start();
      try {
        String listening =
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                + " AND pid <> pg_backend_pid()";
        Sql.awaitTrue(ds, "SELECT EXISTS (" + listening + ")");
        long killed = Sql.longs(ds, listening).getFirst();
        assertTrue(Sql.bool(ds, "SELECT pg_terminate_backend(?)", (int) killed));
        logs.await(1, m -> m.contains("listener failed"), GENEROUS); // the outage's one WARN
        Sql.awaitTrue(ds, "SELECT EXISTS (" + listening + " AND pid <> ?)", (int) killed);

        // Every connection the pool holds idle now works: borrow them all at once, use each.
        List<Connection> borrowed = new ArrayList<>();
        try {
          int idle = pool.getHikariPoolMXBean().getIdleConnections();
          for (int i = 0; i < idle; i++) {
            borrowed.add(pool.getConnection());
          }
          for (Connection c : borrowed) {
            try (Statement s = c.createStatement()) {
              s.execute("SELECT 1");
            }
          }
        } finally {
          for (Connection c : borrowed) {
            c.close();
          }
        }
        store.enqueue("listened", Task.of(JOB, 1)); // the application's next statement, on the pool
        ends.await(); // woken by the new subscription
      } finally {
        q.shutdown();
      }
    }
  }

  // ---- point 4: the lost wake-up of the NOTIFY debounce ----

  /**
   * Transaction A enqueues first and carries the NOTIFY; B enqueues inside A's window, so its
   * wake-up is left to the trailing NOTIFY, and commits after A and after the window ended. Before
   * the fix the trailing NOTIFY went out at the end of the window, before B's commit, and B's task
   * waited for a poll; now the trailer waits for B's transaction to end, and then notifies.
   */
  @Test
  void anEnqueueInsideAnotherTransactionsWindowThatCommitsAfterItStillWakesAWorker() throws Exception {
    PostgresStore store = PostgresStore.builder(ds).notifyWindow(Duration.ofSeconds(2)).build();
    try (Connection listener = ds.getConnection();
        Connection a = ds.getConnection();
        Connection b = ds.getConnection()) {
      PostgresNotifications.listen(listener, "q");
      a.setAutoCommit(false);
      b.setAutoCommit(false);
      int bPid = Sql.pid(b);
      b.commit();
      store.enqueue(a, "q", Task.of(JOB, 1)); // leads: NOTIFY in A's transaction
      store.enqueue(b, "q", Task.of(JOB, 2)); // inside the window: left to the trailing NOTIFY
      a.commit();
      assertEquals(List.of("q"), PostgresNotifications.awaitNotifications(listener, GENEROUS), "A's wake-up");

      // Wait until the trailer has acted on B: it sent its NOTIFY (before the fix), or it waits for
      // B's transaction to end (after it).
      long deadline = System.nanoTime() + GENEROUS.toNanos();
      boolean trailingCame = false;
      while (!trailingCame
          && !Sql.bool(ds, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
              + " AND classid = ?::bigint::oid AND objid = ?::bigint::oid)", (long) Debouncer.LOCK_CLASS, (long) bPid)) {
        assertTrue(System.nanoTime() < deadline, "the trailer never acted");
        trailingCame = !PostgresNotifications.awaitNotifications(listener, Duration.ofMillis(20)).isEmpty();
      }
      b.commit();

      assertFalse(
          PostgresNotifications.awaitNotifications(listener, Duration.ofSeconds(GENEROUS_SECONDS)).isEmpty(),
          "B's commit must wake the workers (a trailing NOTIFY before it came: " + trailingCame + ")");
    }
  }
}
