package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.Backoff;
import dev.loomwork.RetryPolicy;
import dev.loomwork.Task;
import dev.loomwork.TaskState;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import dev.loomwork.WorkQueueListener;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.TimeZone;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Restarts, time zones and broken connections under a durable queue. */
@ExtendWith(PostgresExtension.class)
class DurableChaosTest {
  static final TaskType<Integer> SLOW_RETRY =
      TaskType.of("slow-retry", DurableQueueTest.NUMBER)
          .withRetryPolicy(RetryPolicy.defaults().withBackoff(Backoff.fixed(Duration.ofMillis(1500))));

  final DataSource ds;

  DurableChaosTest(DataSource ds) {
    this.ds = ds;
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
  }

  static final class Latch implements WorkQueueListener {
    final CountDownLatch retried = new CountDownLatch(1);
    final CountDownLatch succeeded;

    Latch(int n) {
      succeeded = new CountDownLatch(n);
    }

    @Override
    public void onRetryScheduled(Task<?> task, Throwable error, Instant at) {
      retried.countDown();
    }

    @Override
    public void onSucceeded(Task<?> task) {
      succeeded.countDown();
    }
  }

  /** A data source whose sessions run in {@code zone}, whatever the JVM's and the server's zones. */
  static DataSource inZone(DataSource real, String zone) {
    return new DelegatingDataSource(real) {
      @Override
      public Connection getConnection() throws SQLException {
        Connection c = super.getConnection();
        try (Statement s = c.createStatement()) {
          s.execute("SET TIME ZONE '" + zone + "'");
        }
        return c;
      }
    };
  }

  @Test
  void aRetryWaitsInTheStoreAcrossARestartByTheDatabasesClockInAnyTimeZone() throws Exception {
    TimeZone jvmZone = TimeZone.getDefault();
    String database = (String) Sql.value(ds, "SELECT current_database()");
    Sql.exec(ds, "ALTER DATABASE \"" + database + "\" SET timezone = 'America/St_Johns'"); // the server's
    TimeZone.setDefault(TimeZone.getTimeZone("Asia/Kathmandu")); // the JVM's
    try {
      PostgresStore store =
          PostgresStore.builder(inZone(ds, "Pacific/Chatham")).pollInterval(Duration.ofMillis(100)).build();
      Instant notBefore = Instant.now().plusMillis(300).truncatedTo(ChronoUnit.MICROS);
      long id = store.enqueue("restart", Task.of(SLOW_RETRY, 1).notBefore(notBefore));
      assertEquals(notBefore, store.find(id).orElseThrow().runAt(), "an application's instant is stored as it is");

      Latch first = new Latch(1);
      AtomicInteger attempts = new AtomicInteger();
      WorkQueue before =
          WorkQueue.builder("restart").store(store)
              .handle(SLOW_RETRY, (ctx, p) -> {
                attempts.incrementAndGet();
                assertTrue(!Instant.now().isBefore(notBefore), "not before its time");
                throw new IllegalStateException("first attempt fails");
              })
              .listener(first)
              .build();
      before.start();
      assertTrue(first.retried.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
      before.shutdown(); // a drain: the retry waits in the store for whoever runs next
      PostgresTask waiting = store.find(id).orElseThrow();
      assertEquals(TaskState.WAITING, waiting.state());
      assertEquals(1, waiting.attempts());
      assertTrue(
          Sql.bool(ds, "SELECT run_at - updated_at = interval '1500 milliseconds' FROM loomwork_task WHERE id = ?", id),
          "the backoff is added to the database's now()");

      Latch second = new Latch(1);
      WorkQueue after =
          WorkQueue.builder("restart").store(store).handle(SLOW_RETRY, (ctx, p) -> attempts.incrementAndGet())
              .listener(second).build();
      after.start();
      assertTrue(second.succeeded.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
      after.shutdown();
      assertEquals(2, attempts.get());
      assertTrue(
          Sql.bool(ds, "SELECT attempted_at >= run_at FROM loomwork_task WHERE id = ?", id),
          "the second attempt started at or after its run_at, by the database's clock");
      assertEquals(TaskState.SUCCEEDED, store.find(id).orElseThrow().state());
    } finally {
      TimeZone.setDefault(jvmZone);
      Sql.exec(ds, "ALTER DATABASE \"" + database + "\" RESET timezone");
    }
  }

  @Test
  void aBrokenListenConnectionIsReplacedAndNothingEnqueuedMeanwhileIsMissed() throws Exception {
    PostgresStore store = PostgresStore.builder(ds).pollInterval(Duration.ofHours(1)).build(); // NOTIFY only
    Latch done = new Latch(1);
    WorkQueue q = WorkQueue.builder("relisten").store(store)
        .handle(DurableQueueTest.JOB, (ctx, p) -> {}).listener(done).build();
    q.start();
    String listening = "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()";
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()");
    Object pid = Sql.value(ds, listening);
    assertTrue(Sql.bool(ds, "SELECT pg_terminate_backend(?)", pid));
    PostgresStore.of(ds).enqueue("relisten", Task.of(DurableQueueTest.JOB, 1)); // maybe while nobody listens
    assertTrue(done.succeeded.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "caught up without a poll");
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()");
    assertNotEquals(pid, Sql.value(ds, listening), "a new LISTEN connection");
    q.shutdown();
  }

  @Test
  void connectionsKilledUnderLoadLoseNothingAndRunNothingTwice() throws Exception {
    int n = 2_000;
    PostgresStore store = PostgresStore.builder(ds).pollInterval(Duration.ofMillis(100)).build();
    try (Connection c = ds.getConnection()) {
      for (int i = 0; i < n; i++) {
        store.enqueue(c, "chaos", Task.of(DurableQueueTest.JOB, i));
      }
    }
    Map<Integer, AtomicInteger> runs = new ConcurrentHashMap<>();
    CountDownLatch quarter = new CountDownLatch(n / 4);
    CountDownLatch half = new CountDownLatch(n / 2);
    WorkQueue q = WorkQueue.builder("chaos").store(store).concurrency(16)
        .handle(DurableQueueTest.JOB, (ctx, p) -> {
          runs.computeIfAbsent(p, k -> new AtomicInteger()).incrementAndGet();
          quarter.countDown();
          half.countDown();
        })
        .build();
    q.start();
    String others = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        + " WHERE datname = current_database() AND pid <> pg_backend_pid()";
    assertTrue(quarter.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
    Sql.value(ds, others);
    assertTrue(half.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
    Sql.value(ds, others);
    Sql.awaitTrue(ds, "SELECT count(*) = ? FROM loomwork_task WHERE state = 'succeeded'", (long) n);
    q.shutdown();
    assertEquals(n, runs.size(), "nothing lost");
    runs.forEach((p, r) -> assertEquals(1, r.get(), "payload " + p + " ran " + r.get() + " times"));
    assertEquals(n, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state = 'succeeded' AND attempt = 1"));
  }
}
