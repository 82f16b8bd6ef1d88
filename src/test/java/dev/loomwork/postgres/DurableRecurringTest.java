package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.MissedTicks;
import dev.loomwork.RecurringStatus;
import dev.loomwork.RecurringTask;
import dev.loomwork.Schedule;
import dev.loomwork.WorkQueue;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Durable recurring tasks, several queue instances of one JVM standing for several processes, with a
 * clock the test moves (each instance looks at it at least every second): one task per tick whatever
 * the number of instances, daylight saving, missed ticks, a changed declaration, and pause, resume and
 * trigger from another instance. {@code RecurringProcessTest} does the same with real processes.
 */
@ExtendWith(PostgresExtension.class)
class DurableRecurringTest {
  final DataSource ds;
  final PostgresStore store;
  final List<WorkQueue> queues = new ArrayList<>();
  final LinkedBlockingQueue<String> ran = new LinkedBlockingQueue<>();

  DurableRecurringTest(DataSource ds) {
    this.ds = ds;
    this.store =
        PostgresStore.builder(ds)
            .lease(Duration.ofSeconds(2))
            .rescueInterval(Duration.ofMillis(200))
            .pollInterval(Duration.ofMillis(200))
            .build();
  }

  static final class ManualClock implements InstantSource {
    final AtomicReference<Instant> now;

    ManualClock(String start) {
      now = new AtomicReference<>(Instant.parse(start));
    }

    void set(String t) {
      now.set(Instant.parse(t));
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker, loomwork_schedule");
  }

  @AfterEach
  void shutDown() {
    for (WorkQueue q : queues) {
      q.shutdownNow();
    }
  }

  WorkQueue queue(String name, InstantSource clock, RecurringTask<?>... tasks) {
    WorkQueue.Builder b =
        WorkQueue.builder(name)
            .store(store)
            .clock(clock)
            .handle(DurableQueueTest.JOB, (ctx, p) -> ran.add(ctx.taskName() + " " + p + " " + ctx.scheduledAt()));
    for (RecurringTask<?> t : tasks) {
      b.recurring(t);
    }
    WorkQueue q = b.build();
    queues.add(q);
    return q;
  }

  String nextRan() throws InterruptedException {
    String r = ran.poll(GENEROUS.toSeconds(), TimeUnit.SECONDS);
    assertNotNull(r, "no tick ran within " + GENEROUS);
    return r;
  }

  static RecurringTask<Integer> minutely(String name, int payload) {
    return RecurringTask.of(name, Schedule.fixedRate(Duration.ofMinutes(1)), DurableQueueTest.JOB, payload);
  }

  List<String> keys(String queue) throws Exception {
    List<String> keys = new ArrayList<>();
    try (var c = ds.getConnection();
        var s = c.prepareStatement("SELECT unique_key FROM loomwork_task WHERE queue = ? ORDER BY unique_key")) {
      s.setString(1, queue);
      try (var r = s.executeQuery()) {
        while (r.next()) {
          keys.add(r.getString(1));
        }
      }
    }
    return keys;
  }

  void awaitTasks(String queue, long n) throws Exception {
    Sql.awaitTrue(ds, "SELECT count(*) >= ? FROM loomwork_task WHERE queue = ?", n, queue);
  }

  @Test
  void threeInstancesMakeOneTaskPerTick() throws Exception {
    ManualClock clock = new ManualClock("2026-05-13T10:00:30Z");
    for (int i = 0; i < 3; i++) {
      queue("three", clock, minutely("m", 7)).start();
    }
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM loomwork_schedule WHERE queue = 'three'");
    for (int minute = 1; minute <= 4; minute++) {
      clock.set("2026-05-13T10:0" + minute + ":00Z");
      assertEquals("m 7 2026-05-13T10:0" + minute + ":00Z", nextRan());
    }
    // The fifth tick is the barrier: every instance has looked at the table since the fourth.
    clock.set("2026-05-13T10:05:00Z");
    assertEquals("m 7 2026-05-13T10:05:00Z", nextRan());
    assertEquals(
        List.of(
            "loomwork.schedule:m@2026-05-13T10:01:00Z",
            "loomwork.schedule:m@2026-05-13T10:02:00Z",
            "loomwork.schedule:m@2026-05-13T10:03:00Z",
            "loomwork.schedule:m@2026-05-13T10:04:00Z",
            "loomwork.schedule:m@2026-05-13T10:05:00Z"),
        keys("three"));
    RecurringStatus s = queues.get(1).recurring().status("m");
    assertEquals(Instant.parse("2026-05-13T10:06:00Z"), s.nextRun());
    assertEquals(Instant.parse("2026-05-13T10:05:00Z"), s.lastRun());
  }

  @Test
  void berlinTwoThirtyRunsOnceOnTheSpringForwardDay() throws Exception {
    ManualClock clock = new ManualClock("2026-03-28T12:00:00Z");
    RecurringTask<Integer> nightly =
        RecurringTask.of("nightly", Schedule.cron("30 2 * * *", ZoneId.of("Europe/Berlin")), DurableQueueTest.JOB, 1);
    WorkQueue a = queue("dst", clock, nightly);
    WorkQueue b = queue("dst", clock, nightly);
    a.start();
    b.start();
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM loomwork_schedule WHERE queue = 'dst'");
    assertEquals(Instant.parse("2026-03-29T01:30:00Z"), a.recurring().status("nightly").nextRun());
    clock.set("2026-03-29T01:30:00Z");
    assertEquals("nightly 1 2026-03-29T01:30:00Z", nextRan());
    Sql.awaitTrue(ds, "SELECT next_run_at = '2026-03-30T00:30:00Z' FROM loomwork_schedule WHERE queue = 'dst'");
    clock.set("2026-03-29T22:00:00Z"); // the rest of the day: no second run
    b.recurring().triggerNow("nightly"); // a barrier: both instances fire it or skip it
    assertEquals("nightly 1 2026-03-29T22:00:00Z", nextRan());
    assertEquals(
        List.of("loomwork.schedule:nightly@2026-03-29T01:30:00Z", "loomwork.trigger:nightly@2026-03-29T22:00:00Z"),
        keys("dst"));
  }

  List<String> afterDowntime(MissedTicks policy) throws Exception {
    String q = "missed-" + policy.kind();
    ManualClock clock = new ManualClock("2026-05-13T10:00:30Z");
    RecurringTask<Integer> r = minutely("m", 1).missedTicks(policy);
    WorkQueue first = queue(q, clock, r);
    first.start();
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM loomwork_schedule WHERE queue = ?", q);
    first.shutdown(); // the only process stops; eleven ticks pass
    clock.set("2026-05-13T10:11:30Z");
    WorkQueue second = queue(q, clock, r);
    second.start();
    Sql.awaitTrue(ds, "SELECT next_run_at = '2026-05-13T10:12:00Z' FROM loomwork_schedule WHERE queue = ?", q);
    second.shutdown(); // drains the tasks it made
    return keys(q);
  }

  @Test
  void missedTicksAfterDowntimeRunOnceByDefault() throws Exception {
    assertEquals(List.of("loomwork.schedule:m@2026-05-13T10:11:00Z"), afterDowntime(MissedTicks.runOnce()));
  }

  @Test
  void missedTicksAfterDowntimeCanBeSkipped() throws Exception {
    assertEquals(List.of(), afterDowntime(MissedTicks.skip()));
  }

  @Test
  void missedTicksAfterDowntimeCanEachRunUpToABound() throws Exception {
    assertEquals(
        List.of(
            "loomwork.schedule:m@2026-05-13T10:09:00Z",
            "loomwork.schedule:m@2026-05-13T10:10:00Z",
            "loomwork.schedule:m@2026-05-13T10:11:00Z"),
        afterDowntime(MissedTicks.runEach(3)));
  }

  @Test
  void aChangedDeclarationReplacesTheOldWithoutADoubleOrALostTick() throws Exception {
    ManualClock clock = new ManualClock("2026-05-13T10:00:30Z");
    WorkQueue old = queue("deploy", clock, minutely("m", 1));
    old.start();
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM loomwork_schedule WHERE queue = 'deploy'"); // declared at 10:00:30
    clock.set("2026-05-13T10:01:00Z");
    assertEquals("m 1 2026-05-13T10:01:00Z", nextRan());
    old.shutdown();
    // The next tick of the old schedule (10:02) falls due during the deploy and has not run: it is
    // owed, and runs once, with the new payload; then the new schedule (every 5 minutes) goes on.
    clock.set("2026-05-13T10:02:10Z");
    RecurringTask<Integer> changed =
        RecurringTask.of("m", Schedule.fixedRate(Duration.ofMinutes(5)), DurableQueueTest.JOB, 2);
    WorkQueue a = queue("deploy", clock, changed);
    WorkQueue b = queue("deploy", clock, changed);
    a.start();
    b.start();
    assertEquals("m 2 2026-05-13T10:02:00Z", nextRan());
    Sql.awaitTrue(ds, "SELECT next_run_at = '2026-05-13T10:05:00Z' FROM loomwork_schedule WHERE queue = 'deploy'");
    clock.set("2026-05-13T10:05:00Z");
    assertEquals("m 2 2026-05-13T10:05:00Z", nextRan());
    assertEquals(
        List.of(
            "loomwork.schedule:m@2026-05-13T10:01:00Z",
            "loomwork.schedule:m@2026-05-13T10:02:00Z",
            "loomwork.schedule:m@2026-05-13T10:05:00Z"),
        keys("deploy"));
    // Declaring the same again (a third instance of the new deploy) changes nothing.
    queue("deploy", clock, changed).start();
    clock.set("2026-05-13T10:10:00Z");
    assertEquals("m 2 2026-05-13T10:10:00Z", nextRan());
    assertEquals(4, keys("deploy").size());
    RecurringStatus s = a.recurring().status("m");
    assertEquals(Schedule.fixedRate(Duration.ofMinutes(5)), s.schedule());
  }

  @Test
  void pauseResumeAndTriggerActForEveryInstance() throws Exception {
    ManualClock clock = new ManualClock("2026-05-13T10:00:30Z");
    WorkQueue a = queue("admin", clock, minutely("m", 1));
    WorkQueue b = queue("admin", clock, minutely("m", 1));
    a.start();
    b.start();
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM loomwork_schedule WHERE queue = 'admin'");
    assertTrue(b.recurring().pause("m"));
    assertFalse(a.recurring().pause("m"));
    assertTrue(a.recurring().status("m").paused());
    assertNull(a.recurring().status("m").nextRun());
    clock.set("2026-05-13T10:05:10Z"); // five ticks pass while paused
    b.recurring().triggerNow("m");
    assertEquals("m 1 2026-05-13T10:05:10Z", nextRan());
    assertTrue(a.recurring().resume("m"));
    assertEquals(Instant.parse("2026-05-13T10:06:00Z"), b.recurring().status("m").nextRun());
    clock.set("2026-05-13T10:06:00Z");
    assertEquals("m 1 2026-05-13T10:06:00Z", nextRan());
    assertEquals(
        List.of("loomwork.schedule:m@2026-05-13T10:06:00Z", "loomwork.trigger:m@2026-05-13T10:05:10Z"),
        keys("admin"));
    assertThrows(IllegalArgumentException.class, () -> a.recurring().pause("other"));
  }

  @Test
  void moreDueRowsThanABatchBecomeOneTaskEachAcrossInstances() throws Exception {
    // 4,500 rows due at 10:01: more than two batches of 2,000, so each instance fires its first batch
    // and then the rest on two connections at once, while the other instance does the same.
    int rows = 4_500;
    Sql.exec(
        ds,
        "INSERT INTO loomwork_schedule (queue, name, handler, payload, kind, period_ns, missed, missed_bound,"
            + " tolerance_ms, next_run_at)"
            + " SELECT 'many', 'r' || i, 'job', to_jsonb(i), 'fixed_rate', 60000000000, 'run_once', 1, 10000,"
            + " '2026-05-13T10:01:00Z' FROM generate_series(1, ?) AS i",
        rows);
    ManualClock clock = new ManualClock("2026-05-13T10:01:00.500Z");
    // Declared as row r1 holds it: the declaration changes nothing.
    queue("many", clock, minutely("r1", 1)).start();
    queue("many", clock, minutely("r1", 1)).start();
    awaitTasks("many", rows);
    // Each task was inserted in the transaction that moved its row to 10:02: none is left to fire.
    assertEquals(
        rows,
        Sql.count(
            ds,
            "SELECT count(*) FROM loomwork_schedule WHERE queue = 'many'"
                + " AND next_run_at = '2026-05-13T10:02:00Z' AND last_run_at = '2026-05-13T10:01:00Z'"));
    assertEquals(
        rows,
        Sql.count(
            ds,
            "SELECT count(DISTINCT unique_key) FROM loomwork_task t JOIN loomwork_schedule s"
                + " ON s.queue = t.queue AND t.unique_key = 'loomwork.schedule:' || s.name || '@2026-05-13T10:01:00Z'"
                + " AND t.payload = s.payload WHERE t.queue = 'many'"));
    assertEquals(rows, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE queue = 'many'"));
  }

  @Test
  void aFixedDelayIsRefusedOnADurableQueue() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                queue(
                    "delay",
                    InstantSource.system(),
                    RecurringTask.of("d", Schedule.fixedDelay(Duration.ofSeconds(1)), DurableQueueTest.JOB, 1)));
    assertEquals(
        "recurring task 'd': fixedDelay(PT1S) runs on queues in memory only (a durable queue's ticks need a"
            + " time every process agrees on: use fixedRate or cron)",
        e.getMessage());
  }
}
