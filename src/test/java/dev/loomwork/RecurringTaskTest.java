package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Recurring tasks on queues in memory, with a clock the test moves: the queue's timer looks at the
 * clock at least every second, so a moved clock is seen without the test sleeping. Each test waits
 * for the tasks it expects with a blocking queue, and counts the rest after a draining shutdown.
 */
class RecurringTaskTest {
  static final TaskType<String> NOTE = TaskType.of("note", new JacksonCodec<>(String.class));

  /** A clock the test sets. */
  static final class ManualClock implements InstantSource {
    private final AtomicReference<Instant> now;

    ManualClock(Instant start) {
      this.now = new AtomicReference<>(start);
    }

    void set(Instant t) {
      now.set(t);
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  }

  /** What a tick's task saw. */
  record Ran(String payload, Instant scheduledAt, String taskName, int attempt) {}

  private final LinkedBlockingQueue<Ran> ran = new LinkedBlockingQueue<>();

  private WorkQueue.Builder queue(String name, ManualClock clock) {
    return WorkQueue.builder(name)
        .clock(clock)
        .handle(NOTE, (ctx, p) -> ran.add(new Ran(p, ctx.scheduledAt(), ctx.taskName(), ctx.attempt())));
  }

  private Ran next() throws InterruptedException {
    Ran r = ran.poll(GENEROUS.toSeconds(), TimeUnit.SECONDS);
    assertNotNull(r, "no tick ran within " + GENEROUS);
    return r;
  }

  /** Drains the queue and returns the ticks that ran beyond those already taken. */
  private List<Ran> rest(WorkQueue q) {
    q.shutdown();
    List<Ran> out = new ArrayList<>();
    ran.drainTo(out);
    return out;
  }

  @Test
  void aFixedRateTickRunsItsTypedTaskWithItsScheduledTime() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-05-13T10:00:30Z"));
    WorkQueue q =
        queue("rate", clock)
            .recurring(RecurringTask.of("every-minute", Schedule.fixedRate(Duration.ofMinutes(1)), NOTE, "hi"))
            .build();
    assertEquals(List.of(), List.of()); // the queue is built; nothing ticks before start
    RecurringStatus before = q.recurring().status("every-minute");
    assertNull(before.nextRun());
    q.start();
    assertEquals(Instant.parse("2026-05-13T10:01:00Z"), q.recurring().status("every-minute").nextRun());
    clock.set(Instant.parse("2026-05-13T10:01:00Z"));
    Ran r = next();
    assertEquals(new Ran("hi", Instant.parse("2026-05-13T10:01:00Z"), "every-minute", 1), r);
    clock.set(Instant.parse("2026-05-13T10:02:01Z"));
    assertEquals(Instant.parse("2026-05-13T10:02:00Z"), next().scheduledAt());
    RecurringStatus s = q.recurring().status("every-minute");
    assertEquals(Instant.parse("2026-05-13T10:02:00Z"), s.lastRun());
    assertEquals(Instant.parse("2026-05-13T10:03:00Z"), s.nextRun());
    assertEquals("note", s.handler());
    assertFalse(s.paused());
    assertEquals(List.of(), rest(q));
  }

  @Test
  void aTickRunsWithItsTypesRetries() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-05-13T10:00:30Z"));
    TaskType<String> flaky =
        TaskType.of("flaky", new JacksonCodec<>(String.class))
            .withRetryPolicy(RetryPolicy.defaults().withRetries(2).withBackoff(Backoff.none()));
    WorkQueue q =
        WorkQueue.builder("retries")
            .clock(clock)
            .handle(flaky, (ctx, p) -> {
              ran.add(new Ran(p, ctx.scheduledAt(), ctx.taskName(), ctx.attempt()));
              if (ctx.attempt() < 3) {
                throw new IllegalStateException("attempt " + ctx.attempt());
              }
            })
            .recurring(RecurringTask.of("flaky-minute", Schedule.fixedRate(Duration.ofMinutes(1)), flaky, "x"))
            .build();
    q.start();
    clock.set(Instant.parse("2026-05-13T10:01:00Z"));
    for (int attempt = 1; attempt <= 3; attempt++) {
      Ran r = next();
      assertEquals(attempt, r.attempt());
      assertEquals(Instant.parse("2026-05-13T10:01:00Z"), r.scheduledAt());
    }
    assertEquals(List.of(), rest(q));
    assertEquals(1, q.stats().succeeded());
  }

  @Test
  void berlinDailyAtTwoThirtyRunsOnceOnEachChangeoverDay() throws Exception {
    ZoneId berlin = ZoneId.of("Europe/Berlin");
    for (String[] day :
        new String[][] {
          {"2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"},
          {"2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}
        }) {
      ManualClock clock = new ManualClock(Instant.parse(day[0]));
      WorkQueue q =
          queue("dst", clock)
              .recurring(RecurringTask.of("nightly", Schedule.cron("30 2 * * *", berlin), NOTE, "n"))
              .build();
      q.start();
      assertEquals(Instant.parse(day[1]), q.recurring().status("nightly").nextRun());
      clock.set(Instant.parse(day[1]));
      assertEquals(Instant.parse(day[1]), next().scheduledAt());
      // After it, the next is the next day's: the repeated (or skipped) hour adds no second run.
      clock.set(Instant.parse(day[1]).plus(Duration.ofHours(2)));
      q.recurring().triggerNow("nightly"); // a barrier: its pass looks at the due ticks too
      assertEquals(clock.instant(), next().scheduledAt());
      assertEquals(Instant.parse(day[2]), q.recurring().status("nightly").nextRun());
      assertEquals(List.of(), rest(q));
    }
  }

  private List<Instant> afterAJump(MissedTicks policy) throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-05-13T10:00:30Z"));
    WorkQueue q =
        queue("missed-" + policy.kind(), clock)
            .recurring(
                RecurringTask.of("minutely", Schedule.fixedRate(Duration.ofMinutes(1)), NOTE, "m")
                    .missedTicks(policy))
            .build();
    q.start();
    // The clock jumps 11 minutes and a half: the ticks 10:01 to 10:11 are all later than 10 s.
    clock.set(Instant.parse("2026-05-13T10:11:30Z"));
    q.recurring().triggerNow("minutely");
    List<Instant> ticks = new ArrayList<>();
    for (Ran r : awaitTrigger(Instant.parse("2026-05-13T10:11:30Z"))) {
      ticks.add(r.scheduledAt());
    }
    for (Ran r : rest(q)) {
      ticks.add(r.scheduledAt());
    }
    assertEquals(Instant.parse("2026-05-13T10:12:00Z"), q.recurring().status("minutely").nextRun());
    assertEquals(Instant.parse("2026-05-13T10:11:00Z"), q.recurring().status("minutely").lastRun());
    return ticks.stream().sorted().toList();
  }

  /** The ticks that ran up to and including the trigger at {@code at}. */
  private List<Ran> awaitTrigger(Instant at) throws InterruptedException {
    List<Ran> seen = new ArrayList<>();
    while (true) {
      Ran r = next();
      if (r.scheduledAt().equals(at)) {
        return seen;
      }
      seen.add(r);
    }
  }

  @Test
  void missedTicksRunOnceByDefault() throws Exception {
    assertEquals(List.of(Instant.parse("2026-05-13T10:11:00Z")), afterAJump(MissedTicks.runOnce()));
  }

  @Test
  void missedTicksCanBeSkipped() throws Exception {
    assertEquals(List.of(), afterAJump(MissedTicks.skip()));
  }

  @Test
  void missedTicksCanEachRunUpToABound() throws Exception {
    assertEquals(
        List.of(
            Instant.parse("2026-05-13T10:09:00Z"),
            Instant.parse("2026-05-13T10:10:00Z"),
            Instant.parse("2026-05-13T10:11:00Z")),
        afterAJump(MissedTicks.runEach(3)));
  }

  @Test
  void pauseResumeAndTriggerByName() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-05-13T10:00:30Z"));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    WorkQueue q =
        queue("admin", clock)
            .meterRegistry(registry)
            .recurring(RecurringTask.of("minutely", Schedule.fixedRate(Duration.ofMinutes(1)), NOTE, "a"))
            .recurring(RecurringTask.of("hourly", Schedule.cron("@hourly", "UTC"), NOTE, "b"))
            .build();
    q.start();
    assertTrue(q.recurring().pause("minutely"));
    assertFalse(q.recurring().pause("minutely"));
    RecurringStatus paused = q.recurring().status("minutely");
    assertTrue(paused.paused());
    assertNull(paused.nextRun());
    clock.set(Instant.parse("2026-05-13T10:05:10Z")); // five ticks pass while paused
    q.recurring().triggerNow("minutely"); // a trigger runs even while paused
    Ran triggered = next();
    assertEquals(new Ran("a", Instant.parse("2026-05-13T10:05:10Z"), "minutely", 1), triggered);
    assertTrue(q.recurring().resume("minutely"));
    assertFalse(q.recurring().resume("minutely"));
    assertEquals(Instant.parse("2026-05-13T10:06:00Z"), q.recurring().status("minutely").nextRun());
    clock.set(Instant.parse("2026-05-13T10:06:00Z"));
    assertEquals(Instant.parse("2026-05-13T10:06:00Z"), next().scheduledAt());
    assertEquals(
        List.of("minutely", "hourly"), q.recurring().list().stream().map(RecurringStatus::name).toList());
    assertEquals(Instant.parse("2026-05-13T11:00:00Z"), q.recurring().status("hourly").nextRun());
    IllegalArgumentException unknown =
        assertThrows(IllegalArgumentException.class, () -> q.recurring().pause("daily"));
    assertEquals(
        "name: 'daily' (expected: a recurring task of queue 'admin': [minutely, hourly])", unknown.getMessage());
    assertEquals(List.of(), rest(q));
    assertEquals(
        2.0,
        registry.get("loomwork.schedule.ticks").tag("schedule", "minutely").tag("outcome", "enqueued").counter().count());
    assertEquals(
        0.0,
        registry.get("loomwork.schedule.ticks").tag("schedule", "hourly").tag("outcome", "enqueued").counter().count());
  }

  @Test
  void aFixedDelayCountsFromTheEndOfTheLastRun() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-05-13T10:00:00Z"));
    WorkQueue q =
        queue("delay", clock)
            .recurring(RecurringTask.of("after-each", Schedule.fixedDelay(Duration.ofMinutes(5)), NOTE, "d"))
            .build();
    q.start();
    assertEquals(Instant.parse("2026-05-13T10:00:00Z"), next().scheduledAt()); // the first at start
    clock.set(Instant.parse("2026-05-13T10:02:00Z"));
    q.recurring().triggerNow("after-each");
    assertEquals(Instant.parse("2026-05-13T10:02:00Z"), next().scheduledAt());
    // The first run ended before the clock moved: its next tick is five minutes after 10:00, or
    // after the trigger's end at 10:02; whichever end came last set it.
    Instant nextRun = q.recurring().status("after-each").nextRun();
    assertNotNull(nextRun);
    clock.set(nextRun);
    assertEquals(nextRun, next().scheduledAt());
    assertEquals(List.of(), rest(q));
  }

  @Test
  void aLateTickIsLoggedAtWarn() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-05-13T10:00:30Z"));
    try (LogCapture log = new LogCapture()) {
      WorkQueue q =
          queue("late", clock)
              .recurring(
                  RecurringTask.of("minutely", Schedule.fixedRate(Duration.ofMinutes(1)), NOTE, "l")
                      .lateTolerance(Duration.ofSeconds(5)))
              .build();
      q.start();
      clock.set(Instant.parse("2026-05-13T10:01:07Z"));
      assertEquals(Instant.parse("2026-05-13T10:01:00Z"), next().scheduledAt());
      List<String> warnings = log.messages(Level.WARN, m -> m.contains("recurring task 'minutely'"));
      assertTrue(
          warnings.stream().anyMatch(m -> m.contains("the tick of 2026-05-13T10:01:00Z runs PT7S late (tolerance PT5S)")),
          warnings::toString);
      assertEquals(List.of(), rest(q));
    }
  }

  @Test
  void badDeclarationsAreRefused() {
    ManualClock clock = new ManualClock(Instant.parse("2026-05-13T10:00:30Z"));
    TaskType<String> other = TaskType.of("other", new JacksonCodec<>(String.class));
    IllegalArgumentException noHandler =
        assertThrows(
            IllegalArgumentException.class,
            () -> queue("bad", clock)
                .recurring(RecurringTask.of("r", Schedule.cron("@daily", "UTC"), other, "x"))
                .build());
    assertEquals(
        "recurring task 'r': queue 'bad' has no handler for 'other' (register one with WorkQueue.Builder.handle)",
        noHandler.getMessage());
    WorkQueue.Builder b =
        queue("dup", clock).recurring(RecurringTask.of("r", Schedule.cron("@daily", "UTC"), NOTE, "x"));
    assertEquals(
        "task: 'r' is declared twice on queue 'dup' (expected: one recurring task per name)",
        assertThrows(
                IllegalArgumentException.class,
                () -> b.recurring(RecurringTask.of("r", Schedule.cron("@hourly", "UTC"), NOTE, "y")))
            .getMessage());
    assertEquals(
        "name: ' ' (expected: not blank, at most 200 characters, no control characters)",
        assertThrows(
                IllegalArgumentException.class,
                () -> RecurringTask.of(" ", Schedule.cron("@daily", "UTC"), NOTE, "x"))
            .getMessage());
    assertThrows(IllegalArgumentException.class, () -> MissedTicks.runEach(0));
    assertThrows(
        IllegalArgumentException.class,
        () -> RecurringTask.of("r", Schedule.cron("@daily", "UTC"), NOTE, "x").lateTolerance(Duration.ZERO));
    assertEquals(
        "tolerance: PT0S (expected: > 0)",
        assertThrows(
                IllegalArgumentException.class,
                () -> RecurringTask.of("r", Schedule.cron("@daily", "UTC"), NOTE, "x").lateTolerance(Duration.ZERO))
            .getMessage());
  }
}
