package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import dev.loomwork.LogCapture;
import dev.loomwork.QueueHealth;
import dev.loomwork.Task;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tasks whose handler no live worker registers: before, they waited forever with no line anywhere;
 * now they show in the {@code loomwork.store.unclaimable} gauge, in one WARN per handler, and in
 * {@code health()}, until a worker that registers the handler claims them.
 */
@ExtendWith(PostgresExtension.class)
class UnclaimableTest {
  static final TaskType<Integer> ORPHAN = TaskType.of("orphan", DurableQueueTest.NUMBER);

  final DataSource ds;

  UnclaimableTest(DataSource ds) {
    this.ds = ds;
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
  }

  @Test
  void aTaskNoWorkerRegistersShowsInTheGaugeOneWarningAndHealthUntilAWorkerClaimsIt() throws Exception {
    PostgresStore store =
        PostgresStore.builder(ds)
            .rescueInterval(Duration.ofMillis(100))
            .pollInterval(Duration.ofMillis(100))
            .build();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (LogCapture log = new LogCapture();
        WorkQueue q =
            WorkQueue.builder("unclaimed")
                .store(store)
                .meterRegistry(registry)
                .handle(DurableQueueTest.JOB, (ctx, p) -> {})
                .build()) {
      q.start();
      store.enqueue("unclaimed", Task.of(ORPHAN, 1));

      log.await(1, m -> m.contains("handler 'orphan'") && m.contains("no live worker"),
          Duration.ofSeconds(GENEROUS_SECONDS));
      assertEquals(Map.of("orphan", 1L), q.health().unclaimable(), "health() names the handler");
      assertEquals(1.0, gauge(registry), "the gauge counts the task");

      // A later read (it sees a second task) must not warn again within the repeat interval.
      store.enqueue("unclaimed", Task.of(ORPHAN, 2));
      awaitHealth(q, h -> Long.valueOf(2).equals(h.unclaimable().get("orphan")));
      long warnings = log.events().stream()
          .filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains("handler 'orphan'"))
          .count();
      assertEquals(1, warnings, "one WARN per handler, not one per read");
      assertEquals(2.0, gauge(registry));

      // A worker that registers the handler claims the tasks; the figures fall to zero.
      CountDownLatch ran = new CountDownLatch(2);
      PostgresStore other = PostgresStore.builder(ds).pollInterval(Duration.ofMillis(100)).build();
      try (WorkQueue newer =
          WorkQueue.builder("unclaimed").store(other).handle(ORPHAN, (ctx, p) -> ran.countDown()).build()) {
        newer.start();
        assertTrue(ran.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the new worker did not run the tasks");
        awaitHealth(q, h -> h.unclaimable().isEmpty());
        assertEquals(0.0, gauge(registry), "the gauge falls to 0");
      }
    }
  }

  @Test
  void aWorkerThatRegistersTheHandlerIsNotAnAlarm() throws Exception {
    PostgresStore store =
        PostgresStore.builder(ds).rescueInterval(Duration.ofMillis(100)).pollInterval(Duration.ofMillis(100)).build();
    CountDownLatch ran = new CountDownLatch(1);
    // Enqueued before the queue starts: its housekeeper's first look must not count the task while
    // the queue's own worker is still registering (it did, and warned, on a loaded machine).
    store.enqueue("claimed", Task.of(ORPHAN, 1));
    try (LogCapture log = new LogCapture();
        WorkQueue q =
            WorkQueue.builder("claimed").store(store).handle(ORPHAN, (ctx, p) -> ran.countDown()).build()) {
      q.start();
      assertTrue(ran.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the task did not run");
      assertEquals(Map.of(), q.health().unclaimable());
      assertTrue(log.events().stream().noneMatch(e -> e.getFormattedMessage().contains("no live worker")),
          "no WARN for a handler a worker registers");
    }
  }

  @Test
  void aPayloadNewerThanEveryLiveWorkerReadsIsUnclaimable() throws Exception {
    // During a rolling deploy: a new process enqueued version 2, and only version-1 workers live.
    PostgresStore store =
        PostgresStore.builder(ds).rescueInterval(Duration.ofMillis(100)).pollInterval(Duration.ofMillis(100)).build();
    try (LogCapture log = new LogCapture();
        WorkQueue q = WorkQueue.builder("unclaimed").store(store).handle(ORPHAN, (ctx, p) -> {}).build()) {
      q.start();
      store.enqueue("unclaimed", Task.of(ORPHAN.withVersion(2), 7));

      log.await(1, m -> m.contains("handler 'orphan'") && m.contains("no live worker"),
          Duration.ofSeconds(GENEROUS_SECONDS));
      assertEquals(Map.of("orphan", 1L), q.health().unclaimable(), "the version-1 worker cannot claim it");
      assertEquals(1, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state = 'ready'"), "and it waits");
    }
  }

  private static double gauge(SimpleMeterRegistry registry) {
    Gauge g = registry.find("loomwork.store.unclaimable").tag("queue", "unclaimed").tag("handler", "orphan").gauge();
    assertTrue(g != null, "the gauge is registered");
    return g.value();
  }

  /** Waits for the housekeeping's next reads, which nothing signals, until {@code until} holds. */
  private static void awaitHealth(WorkQueue q, Predicate<QueueHealth> until) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GENEROUS_SECONDS);
    long pause = TimeUnit.MILLISECONDS.toNanos(1);
    while (!until.test(q.health())) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("health() did not reach the state in time: " + q.health());
      }
      LockSupport.parkNanos(pause);
      pause = Math.min(pause * 2, TimeUnit.MILLISECONDS.toNanos(50));
    }
  }
}
