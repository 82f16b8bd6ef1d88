package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Faults injected into everything the user hands the queue: bodies that throw an {@link Error} or
 * ignore their interruption, after-callbacks, listeners and meter registries that throw, and thread
 * factories that fail. The queue keeps working or fails loudly, and no task is lost silently.
 */
class FaultTest {
  private static final Duration LONG = Duration.ofSeconds(30);
  private static final RetryPolicy FAST = RetryPolicy.defaults().withBackoff(Backoff.none());

  /** Every fault injected by this class, in both runner modes; printed once at the end. */
  private static final AtomicInteger FAULTS = new AtomicInteger();

  private final List<WorkQueue> queues = new ArrayList<>();
  private final List<CountDownLatch> latches = new ArrayList<>();

  @AfterEach
  void tearDown() {
    latches.forEach(l -> {
      while (l.getCount() > 0) {
        l.countDown();
      }
    });
    for (WorkQueue q : queues) {
      q.shutdownNow();
      q.shutdown(); // returns once terminated: no attempt thread outlives the test
    }
  }

  @AfterAll
  static void printFaults() {
    System.out.println("FaultTest: " + FAULTS.get() + " faults injected");
  }

  private static void fault() {
    FAULTS.incrementAndGet();
  }

  private WorkQueue started(WorkQueue.Builder builder) {
    WorkQueue q = builder.build();
    queues.add(q);
    q.start();
    return q;
  }

  private CountDownLatch latch() {
    CountDownLatch l = new CountDownLatch(1);
    latches.add(l);
    return l;
  }

  private static Throwable failureOf(Task<?> task) {
    TaskFailedException e = assertThrows(TaskFailedException.class, () -> task.await(LONG));
    assertSame(task.error(), e.getCause(), "await's cause is error() itself");
    assertEquals(TaskState.FAILED, task.state());
    return e.getCause();
  }

  /** Waits for {@code release}, counting and swallowing every interrupt: a body that will not stop. */
  private static void awaitIgnoringInterrupts(CountDownLatch release, CountDownLatch interrupted) {
    while (true) {
      try {
        release.await();
        return;
      } catch (InterruptedException e) {
        interrupted.countDown();
      }
    }
  }

  private static void assertStatsAddUp(QueueStats s) {
    assertEquals(0, s.ready() + s.running() + s.waiting(), s::toString);
    assertEquals(s.submitted(), s.succeeded() + s.failed() + s.cancelled(), s::toString);
  }

  // ---------------------------------------------------------------------------------------------
  // Bodies
  // ---------------------------------------------------------------------------------------------

  @Test
  void aBodyThatThrowsAnErrorFailsAtOnceWithThatErrorAndTheQueueKeepsWorking() throws Exception {
    WorkQueue q = started(WorkQueue.builder("error-body").retryPolicy(FAST)); // 3 retries
    List<Error> errors =
        List.of(
            new OutOfMemoryError("simulated: Java heap space"),
            new StackOverflowError("simulated"),
            new Error("simulated fatal error"));
    List<Task<?>> tasks = new ArrayList<>();
    for (Error error : errors) {
      tasks.add(q.enqueue(Task.of(ctx -> {
        fault();
        throw error;
      })));
    }
    for (int i = 0; i < errors.size(); i++) {
      assertSame(errors.get(i), failureOf(tasks.get(i)), "the Error itself, not a wrapper");
      assertEquals(1, tasks.get(i).attempts(), "an Error is not retried by default");
    }
    assertEquals("still working", q.submitJob(ctx -> "still working").await(LONG));
    q.shutdown();
    QueueStats s = q.stats();
    assertEquals(3, s.failed());
    assertEquals(1, s.succeeded());
    assertStatsAddUp(s);
  }

  @Test
  void aCancelledBodyThatIgnoresItsInterruptionStaysRunningUntilItReturnsThenEndsCancelled()
      throws Exception {
    WorkQueue q = started(WorkQueue.builder("stubborn").retryPolicy(FAST));
    CountDownLatch started = latch();
    CountDownLatch interrupted = latch();
    CountDownLatch release = latch();
    Task<String> task =
        q.enqueue(Task.ofJob(ctx -> {
          started.countDown();
          awaitIgnoringInterrupts(release, interrupted);
          return "finished anyway";
        }).named("stubborn"));
    assertTrue(started.await(LONG.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));

    fault();
    assertTrue(task.cancel(), "a running task is asked to stop");
    assertTrue(interrupted.await(LONG.toSeconds(), java.util.concurrent.TimeUnit.SECONDS), "the body was interrupted");
    assertEquals(TaskState.RUNNING, task.state(), "it runs until its body returns");
    assertFalse(task.isDone());
    assertFalse(task.cancel(), "a second cancel asks nothing new");
    // The body cannot return before release: a short await can only time out.
    assertThrows(TimeoutException.class, () -> task.await(Duration.ofMillis(20)));

    release.countDown();
    assertThrows(CancellationException.class, () -> task.await(LONG));
    assertEquals(TaskState.CANCELLED, task.state(), "returning normally after the cut is no success");
    assertEquals(1, task.attempts(), "no retry after a cancel");
    assertEquals("ok", q.submitJob(ctx -> "ok").await(LONG), "the queue keeps working");
    q.shutdown();
    assertEquals(1, q.stats().cancelled());
    assertStatsAddUp(q.stats());
  }

  @Test
  void shutdownNowReportsABodyThatIgnoresItsInterruptionAsAbandoned() throws Exception {
    List<Task<?>> abandonedEvents = new CopyOnWriteArrayList<>();
    WorkQueue q =
        started(WorkQueue.builder("stubborn-shutdown")
            .concurrency(1)
            .abandonAfter(Duration.ofMillis(100)) // the body never returns before release anyway
            .listener(new WorkQueueListener() {
              @Override
              public void onAbandoned(Task<?> task) {
                abandonedEvents.add(task);
              }
            }));
    CountDownLatch started = latch();
    CountDownLatch interrupted = latch();
    CountDownLatch release = latch();
    Task<?> stuck =
        q.enqueue(Task.of(ctx -> {
          started.countDown();
          awaitIgnoringInterrupts(release, interrupted);
        }).named("stuck"));
    Task<?> pending = q.enqueue(Task.of(ctx -> {}).named("pending")); // concurrency 1: stays ready
    assertTrue(started.await(LONG.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));

    fault();
    ShutdownReport report = q.shutdownNow();
    assertEquals(0, interrupted.getCount(), "shutdownNow interrupted the body");
    assertEquals(1, report.abandoned().size(), report::toString);
    TaskSnapshot left = report.abandoned().getFirst();
    assertEquals("stuck", left.name());
    assertEquals(TaskState.RUNNING, left.state());
    assertEquals(1, left.attempts());
    assertEquals(List.of("pending"), report.cancelled().stream().map(TaskSnapshot::name).toList());
    assertEquals(TaskState.READY, report.cancelled().getFirst().state());
    assertEquals(List.of(stuck), abandonedEvents);
    assertEquals(TaskState.RUNNING, stuck.state(), "abandoned, not forgotten: it still runs");
    assertFalse(q.isTerminated(), "an attempt thread is still alive");
    assertThrows(CancellationException.class, () -> pending.await(LONG));

    release.countDown();
    assertThrows(CancellationException.class, () -> stuck.await(LONG));
    q.shutdown(); // returns once the queue has terminated
    assertTrue(q.isTerminated());
    QueueStats s = q.stats();
    assertEquals(2, s.cancelled());
    assertStatsAddUp(s);
  }

  // ---------------------------------------------------------------------------------------------
  // After-callbacks, listeners, meter registries
  // ---------------------------------------------------------------------------------------------

  @Test
  void anAfterCallbackThatThrowsIsLoggedAndTheTaskKeepsItsOutcome() throws Exception {
    Map<String, Integer> calls = new ConcurrentHashMap<>();
    Consumer<Task<?>> throwing = t -> {
      calls.merge(t.name(), 1, Integer::sum);
      fault();
      if (t.name().equals("later")) {
        throw new Error("after-callback error for " + t.name());
      }
      throw new IllegalStateException("after-callback broken for " + t.name());
    };
    try (LogCapture log = new LogCapture()) {
      WorkQueue q = started(WorkQueue.builder("after-faults").retryPolicy(FAST));
      Task<String> ok = q.enqueue(Task.ofJob(ctx -> "ok").named("ok").after(throwing));
      IOException bodyFailure = new IOException("body failed");
      Task<?> bad = q.enqueue(Task.of(ctx -> {
        throw bodyFailure;
      }).named("bad").retries(0).after(throwing));
      Task<?> later = q.enqueue(Task.of(ctx -> {}).named("later").delay(Duration.ofHours(1)).after(throwing));
      assertTrue(later.cancel());
      Task<?> never = Task.of(ctx -> {}).named("never-enqueued").after(throwing);
      assertTrue(never.cancel());

      assertEquals("ok", ok.await(LONG));
      assertEquals("ok", ok.future().get());
      assertSame(bodyFailure, failureOf(bad));
      assertThrows(CancellationException.class, () -> later.await(LONG));
      assertThrows(CancellationException.class, () -> never.await(LONG));
      assertEquals(TaskState.SUCCEEDED, ok.state());
      assertEquals(TaskState.CANCELLED, later.state());
      assertEquals(TaskState.CANCELLED, never.state());
      assertEquals(Map.of("ok", 1, "bad", 1, "later", 1, "never-enqueued", 1), calls, "once per task");

      // The callback runs and is logged before the future completes, so the lines are there.
      List<String> warnings = log.messages(Level.WARN, m -> m.contains("the after-callback threw"));
      assertEquals(4, warnings.size(), warnings::toString);
      for (String name : List.of("ok", "bad", "later", "never-enqueued")) {
        assertEquals(1, warnings.stream().filter(m -> m.startsWith("task '" + name + "'")).count(), name);
      }
      assertEquals("fine", q.submitJob(ctx -> "fine").await(LONG), "the queue keeps working");
      q.shutdown();
      QueueStats s = q.stats();
      assertEquals(2, s.succeeded());
      assertEquals(1, s.failed());
      assertEquals(1, s.cancelled());
      assertStatsAddUp(s);
    }
  }

  private static final List<String> EVENTS =
      List.of(
          "onAbandoned", "onAttemptFinished", "onAttemptStarted", "onCancelled", "onEnqueued",
          "onFailed", "onRejected", "onRetryScheduled", "onSucceeded");

  /** Counts every event; optionally throws from every method after counting it. */
  private static final class EventCounter implements WorkQueueListener {
    final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private final boolean throwing;

    EventCounter(boolean throwing) {
      this.throwing = throwing;
      EVENTS.forEach(e -> counts.put(e, new AtomicInteger()));
    }

    private void on(String event) {
      counts.get(event).incrementAndGet();
      if (throwing) {
        fault();
        throw new IllegalStateException("listener broken in " + event);
      }
    }

    Map<String, Integer> snapshot() {
      Map<String, Integer> m = new TreeMap<>();
      counts.forEach((k, v) -> m.put(k, v.get()));
      return m;
    }

    @Override public void onEnqueued(Task<?> task) { on("onEnqueued"); }
    @Override public void onRejected(String queue, Task<?> task, String reason) { on("onRejected"); }
    @Override public void onAttemptStarted(Task<?> task, int attempt, Duration waited) { on("onAttemptStarted"); }
    @Override public void onAttemptFinished(
        Task<?> task, int attempt, AttemptOutcome outcome, Duration duration, @Nullable Throwable error) {
      on("onAttemptFinished");
    }
    @Override public void onRetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) {
      on("onRetryScheduled");
    }
    @Override public void onSucceeded(Task<?> task) { on("onSucceeded"); }
    @Override public void onFailed(Task<?> task, Throwable error) { on("onFailed"); }
    @Override public void onCancelled(Task<?> task) { on("onCancelled"); }
    @Override public void onAbandoned(Task<?> task) { on("onAbandoned"); }
  }

  @Test
  void aListenerThatThrowsFromEveryMethodHarmsNoTaskAndIsLoggedOncePerKind() throws Exception {
    EventCounter broken = new EventCounter(true);
    EventCounter counter = new EventCounter(false); // added after the broken one: still called
    try (LogCapture log = new LogCapture()) {
      WorkQueue q =
          started(WorkQueue.builder("listener-faults")
              .retryPolicy(FAST)
              .abandonAfter(Duration.ofMillis(100))
              .listener(broken)
              .listener(counter));
      List<Task<Integer>> fine = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        int n = i;
        fine.add(q.submitJob(ctx -> n));
      }
      Task<String> flaky = q.enqueue(Task.ofJob(ctx -> {
        if (ctx.attempt() == 1) {
          throw new IllegalStateException("first attempt fails");
        }
        return "second";
      }).retries(1));
      Task<?> failing = q.enqueue(Task.of(ctx -> {
        throw new IOException("always");
      }).retries(0));
      Task<?> delayed = q.enqueue(Task.of(ctx -> {}).delay(Duration.ofHours(1)));
      assertTrue(delayed.cancel());
      for (int i = 0; i < 5; i++) {
        assertEquals(i, fine.get(i).await(LONG));
      }
      assertEquals("second", flaky.await(LONG));
      assertEquals(2, flaky.attempts());
      assertInstanceOf(IOException.class, failureOf(failing));
      assertThrows(CancellationException.class, () -> delayed.await(LONG));

      CountDownLatch started = latch();
      CountDownLatch interrupted = latch();
      CountDownLatch release = latch();
      Task<?> stuck = q.enqueue(Task.of(ctx -> {
        started.countDown();
        awaitIgnoringInterrupts(release, interrupted);
      }));
      assertTrue(started.await(LONG.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));
      ShutdownReport report = q.shutdownNow();
      assertEquals(1, report.abandoned().size(), report::toString);
      assertThrows(RejectedExecutionException.class, () -> q.submit(ctx -> {}));
      release.countDown();
      assertThrows(CancellationException.class, () -> stuck.await(LONG));
      q.shutdown(); // terminated: every listener call has been made

      Map<String, Integer> expected = new TreeMap<>(Map.of(
          "onEnqueued", 9, "onRejected", 1, "onAttemptStarted", 9, "onAttemptFinished", 9,
          "onRetryScheduled", 1, "onSucceeded", 6, "onFailed", 1, "onCancelled", 2, "onAbandoned", 1));
      assertEquals(expected, broken.snapshot(), "every event reached the broken listener");
      assertEquals(expected, counter.snapshot(), "and the listener after it");
      QueueStats s = q.stats();
      assertEquals(9, s.submitted());
      assertEquals(1, s.rejected());
      assertEquals(6, s.succeeded());
      assertEquals(1, s.failed());
      assertEquals(2, s.cancelled());
      assertStatsAddUp(s);

      Pattern threwFrom = Pattern.compile("listener .* threw from (\\w+);");
      List<String> kinds = new ArrayList<>();
      for (String m : log.messages(Level.WARN, m -> m.contains("threw from"))) {
        Matcher matcher = threwFrom.matcher(m);
        assertTrue(matcher.find(), m);
        kinds.add(matcher.group(1));
      }
      kinds.sort(null);
      assertEquals(EVENTS, kinds, "one WARN per kind of event, the later ones at DEBUG");
    }
  }

  @Test
  void aRegistryWhoseGaugesThrowLeavesTheQueueCountingWithoutGauges() throws Exception {
    AtomicInteger gaugeCalls = new AtomicInteger();
    SimpleMeterRegistry registry = new SimpleMeterRegistry() {
      @Override
      protected <T> Gauge newGauge(Meter.Id id, @Nullable T obj, ToDoubleFunction<T> valueFunction) {
        if (!id.getName().startsWith("loomwork.tasks.")) {
          return super.newGauge(id, obj, valueFunction); // the timers' histogram gauges
        }
        gaugeCalls.incrementAndGet();
        fault();
        throw new IllegalStateException("no gauges here");
      }
    };
    try (LogCapture log = new LogCapture()) {
      WorkQueue q = started(WorkQueue.builder("gauge-faults").meterRegistry(registry));
      List<Task<Integer>> tasks = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        int n = i;
        tasks.add(q.submitJob(ctx -> n));
      }
      for (int i = 0; i < 5; i++) {
        assertEquals(i, tasks.get(i).await(LONG));
      }
      q.shutdown();
      assertEquals(1, gaugeCalls.get(), "the first queue gauge threw; the others were not tried");
      assertEquals(1, log.messages(Level.WARN, m -> m.contains("could not register its counters and gauges")).size());
      assertNull(registry.find("loomwork.tasks.ready").gauge(), "no gauge registered");
      assertEquals(5.0, registry.get("loomwork.tasks.submitted").functionCounter().count(), "counters still count");
      assertEquals(
          5.0, registry.get("loomwork.tasks.completed").tag("outcome", "succeeded").functionCounter().count());
      assertEquals(5, q.stats().succeeded());
      assertStatsAddUp(q.stats());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Thread factories
  // ---------------------------------------------------------------------------------------------

  /** A factory of virtual threads named like the default, failing on the calls {@code fails} picks. */
  private static final class FaultyFactory implements ThreadFactory {
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger faults = new AtomicInteger();
    private final ThreadFactory real;
    private final java.util.function.IntPredicate fails;
    private final java.util.function.IntFunction<@Nullable Thread> failure;

    FaultyFactory(
        String queue,
        java.util.function.IntPredicate fails,
        java.util.function.IntFunction<@Nullable Thread> failure) {
      this.real = Thread.ofVirtual().name("loomwork-" + queue + "-", 0).factory();
      this.fails = fails;
      this.failure = failure;
    }

    @Override
    public @Nullable Thread newThread(Runnable r) {
      int n = calls.incrementAndGet();
      if (fails.test(n)) {
        faults.incrementAndGet();
        fault();
        return failure.apply(n); // null, or throws
      }
      return real.newThread(r);
    }
  }

  @Test
  void aFactoryThatAlwaysReturnsNullFailsEachTaskAfterRetriesPlusOneAttempts() throws Exception {
    FaultyFactory factory = new FaultyFactory("null-factory", n -> true, n -> null);
    WorkQueue q = started(WorkQueue.builder("null-factory").retryPolicy(FAST.withRetries(2)).threadFactory(factory));
    List<Task<?>> tasks = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      tasks.add(q.submit(ctx -> {}));
    }
    for (Task<?> task : tasks) {
      Throwable error = failureOf(task);
      assertInstanceOf(RejectedExecutionException.class, error);
      assertEquals("Rejected by thread factory", error.getMessage());
      assertEquals(3, task.attempts());
    }
    q.shutdown();
    assertTrue(q.isTerminated());
    assertEquals(30, factory.faults.get(), "one refused thread per attempt");
    QueueStats s = q.stats();
    assertEquals(10, s.failed());
    assertStatsAddUp(s);
  }

  @Test
  void aFactoryThatAlwaysThrowsFailsEachTaskWithItsExceptionAndShutdownCompletes() throws Exception {
    FaultyFactory factory =
        new FaultyFactory("throwing-factory", n -> true, n -> {
          throw new IllegalStateException("no threads today (call " + n + ")");
        });
    // Never started: shutdown() starts it so that its tasks run, and must still return.
    WorkQueue q = WorkQueue.builder("throwing-factory").retryPolicy(FAST.withRetries(3)).threadFactory(factory).build();
    queues.add(q);
    List<Task<?>> tasks = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      tasks.add(q.submit(ctx -> {}));
    }
    q.shutdown();
    assertTrue(q.isTerminated());
    for (Task<?> task : tasks) {
      Throwable error = failureOf(task);
      assertInstanceOf(IllegalStateException.class, error);
      assertTrue(error.getMessage().startsWith("no threads today"), error::getMessage);
      assertEquals(4, task.attempts());
    }
    assertEquals(40, factory.faults.get());
    QueueStats s = q.stats();
    assertEquals(10, s.failed());
    assertStatsAddUp(s);
  }

  @Test
  void aFactoryThatThrowsAnErrorFailsTheTaskAtOnceSinceAnErrorIsNotRetried() throws Exception {
    OutOfMemoryError oom = new OutOfMemoryError("unable to create native thread: possibly out of memory");
    FaultyFactory factory = new FaultyFactory("oom-factory", n -> true, n -> {
      throw oom;
    });
    WorkQueue q = started(WorkQueue.builder("oom-factory").retryPolicy(FAST).threadFactory(factory));
    Task<?> task = q.submit(ctx -> {});
    assertSame(oom, failureOf(task));
    assertEquals(1, task.attempts());
    assertEquals(1, factory.faults.get());
    q.shutdown();
    assertTrue(q.isTerminated());
    assertStatsAddUp(q.stats());
  }

  @Test
  void aFactoryThatFailsEveryThirdCallOnlyCostsRetries() throws Exception {
    // Every 3rd call fails, alternately by returning null and by throwing.
    FaultyFactory factory =
        new FaultyFactory("flaky-factory", n -> n % 3 == 0, n -> {
          if (n % 2 == 0) {
            return null;
          }
          throw new IllegalStateException("flaky factory (call " + n + ")");
        });
    WorkQueue q =
        started(WorkQueue.builder("flaky-factory")
            .concurrency(4)
            .retryPolicy(FAST.withRetries(20)) // a task cannot lose 21 draws in a row
            .threadFactory(factory));
    int n = 60;
    List<Task<Integer>> tasks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int v = i;
      tasks.add(q.submitJob(ctx -> v));
    }
    int attempts = 0;
    for (int i = 0; i < n; i++) {
      assertEquals(i, tasks.get(i).await(LONG));
      attempts += tasks.get(i).attempts();
    }
    q.shutdown();
    assertTrue(factory.faults.get() > 0, "faults were injected");
    assertEquals(n + factory.faults.get(), attempts, "each refused thread cost exactly one attempt");
    QueueStats s = q.stats();
    assertEquals(n, s.succeeded());
    assertStatsAddUp(s);
  }

  @Test
  void aListenerSeesAStartForEveryAttemptThatFinishesEvenWhenTheFactoryFails() throws Exception {
    // The attempt that could not get a thread is counted in attempts() and reported finished (FAILED);
    // a listener pairing starts and ends (a gauge of attempts in flight) must see it start too.
    Map<String, AtomicInteger> events = new ConcurrentHashMap<>();
    WorkQueueListener pairing = new WorkQueueListener() {
      @Override
      public void onAttemptStarted(Task<?> task, int attempt, Duration waited) {
        events.computeIfAbsent("started", k -> new AtomicInteger()).incrementAndGet();
      }

      @Override
      public void onAttemptFinished(
          Task<?> task, int attempt, AttemptOutcome outcome, Duration duration, @Nullable Throwable error) {
        events.computeIfAbsent("finished", k -> new AtomicInteger()).incrementAndGet();
      }
    };
    FaultyFactory factory = new FaultyFactory("pairing-factory", n -> true, n -> null);
    WorkQueue q =
        started(WorkQueue.builder("pairing-factory")
            .retryPolicy(FAST.withRetries(1))
            .threadFactory(factory)
            .listener(pairing));
    Task<?> task = q.submit(ctx -> {});
    assertInstanceOf(RejectedExecutionException.class, failureOf(task));
    q.shutdown();
    assertEquals(2, task.attempts());
    assertEquals(2, events.getOrDefault("finished", new AtomicInteger()).get(), "two attempts ended");
    assertEquals(
        2, events.getOrDefault("started", new AtomicInteger()).get(), "so two attempts started");
  }
}
