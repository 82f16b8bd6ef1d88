package dev.loomwork;

import static dev.loomwork.QueueFixture.NO_BACKOFF;
import static dev.loomwork.QueueFixture.failureOf;
import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import dev.loomwork.QueueFixture.Blocker;
import dev.loomwork.RecordingListener.Abandoned;
import dev.loomwork.RecordingListener.AttemptFinished;
import dev.loomwork.RecordingListener.AttemptStarted;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
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
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Faults injected into everything the user hands the queue: bodies that throw an {@link Error} or
 * ignore their interruption, after-callbacks, listeners and meter registries that throw, and thread
 * factories that fail. The queue keeps working or fails loudly, and no task is lost silently.
 */
class FaultTest {
  /** Every fault injected by this class, in both runner modes; printed once at the end. */
  private static final AtomicInteger FAULTS = new AtomicInteger();

  @RegisterExtension final QueueFixture fx = new QueueFixture();

  @AfterAll
  static void printFaults() {
    System.out.println("FaultTest: " + FAULTS.get() + " faults injected");
  }

  private static void fault() {
    FAULTS.incrementAndGet();
  }

  private static void assertStatsAddUp(QueueStats s) {
    assertEquals(0, s.ready() + s.running() + s.waiting(), s::toString);
    assertEquals(s.submitted(), s.succeeded() + s.failed() + s.cancelled(), s::toString);
  }

  @Nested
  class Bodies {
    @Test
    void aBodyThatThrowsAnErrorFailsAtOnceWithThatErrorAndTheQueueKeepsWorking() throws Exception {
      WorkQueue q = fx.started(WorkQueue.builder("error-body").retryPolicy(NO_BACKOFF)); // 3 retries
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
      assertEquals("still working", q.submitJob(ctx -> "still working").await(GENEROUS));
      q.shutdown();
      QueueStats s = q.stats();
      assertEquals(3, s.failed());
      assertEquals(1, s.succeeded());
      assertStatsAddUp(s);
    }

    @Test
    void aCancelledBodyThatIgnoresItsInterruptionStaysRunningUntilItReturnsThenEndsCancelled()
        throws Exception {
      WorkQueue q = fx.started(WorkQueue.builder("stubborn").retryPolicy(NO_BACKOFF));
      Blocker stubborn = fx.blocker();
      Task<String> task =
          q.enqueue(Task.ofJob(ctx -> {
            stubborn.blockIgnoringInterrupts();
            return "finished anyway";
          }).named("stubborn"));
      stubborn.awaitStarted();

      fault();
      assertTrue(task.cancel(), "a running task is asked to stop");
      stubborn.awaitInterrupted();
      assertEquals(TaskState.RUNNING, task.state(), "it runs until its body returns");
      assertFalse(task.isDone());
      assertFalse(task.cancel(), "a second cancel asks nothing new");
      // The body cannot return before release: a short await can only time out.
      assertThrows(TimeoutException.class, () -> task.await(Duration.ofMillis(20)));

      stubborn.release();
      assertThrows(CancellationException.class, () -> task.await(GENEROUS));
      assertEquals(TaskState.CANCELLED, task.state(), "returning normally after the cut is no success");
      assertEquals(1, task.attempts(), "no retry after a cancel");
      assertEquals("ok", q.submitJob(ctx -> "ok").await(GENEROUS), "the queue keeps working");
      q.shutdown();
      assertEquals(1, q.stats().cancelled());
      assertStatsAddUp(q.stats());
    }

    @Test
    void shutdownNowReportsABodyThatIgnoresItsInterruptionAsAbandoned() throws Exception {
      RecordingListener events = new RecordingListener();
      WorkQueue q =
          fx.started(WorkQueue.builder("stubborn-shutdown")
              .concurrency(1)
              .abandonAfter(Duration.ofMillis(100)) // the body never returns before release anyway
              .listener(events));
      Blocker stubborn = fx.blocker();
      Task<?> stuck = q.enqueue(Task.of(ctx -> stubborn.blockIgnoringInterrupts()).named("stuck"));
      Task<?> pending = q.enqueue(Task.of(ctx -> {}).named("pending")); // concurrency 1: stays ready
      stubborn.awaitStarted();

      fault();
      ShutdownReport report = q.shutdownNow();
      assertEquals(0, stubborn.interrupted.getCount(), "shutdownNow interrupted the body");
      assertEquals(1, report.abandoned().size(), report::toString);
      TaskSnapshot left = report.abandoned().getFirst();
      assertEquals("stuck", left.name());
      assertEquals(TaskState.RUNNING, left.state());
      assertEquals(1, left.attempts());
      assertEquals(List.of("pending"), report.cancelled().stream().map(TaskSnapshot::name).toList());
      assertEquals(TaskState.READY, report.cancelled().getFirst().state());
      assertEquals(List.of(stuck), events.tasks(Abandoned.class));
      assertEquals(TaskState.RUNNING, stuck.state(), "abandoned, not forgotten: it still runs");
      assertFalse(q.isTerminated(), "an attempt thread is still alive");
      assertThrows(CancellationException.class, () -> pending.await(GENEROUS));

      stubborn.release();
      assertThrows(CancellationException.class, () -> stuck.await(GENEROUS));
      q.shutdown(); // returns once the queue has terminated
      assertTrue(q.isTerminated());
      QueueStats s = q.stats();
      assertEquals(2, s.cancelled());
      assertStatsAddUp(s);
    }
  }

  /** After-callbacks, listeners and meter registries that throw. */
  @Nested
  class Callbacks {
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
        WorkQueue q = fx.started(WorkQueue.builder("after-faults").retryPolicy(NO_BACKOFF));
        Task<String> ok = q.enqueue(Task.ofJob(ctx -> "ok").named("ok").after(throwing));
        IOException bodyFailure = new IOException("body failed");
        Task<?> bad = q.enqueue(Task.of(ctx -> {
          throw bodyFailure;
        }).named("bad").retries(0).after(throwing));
        Task<?> later = q.enqueue(Task.of(ctx -> {}).named("later").delay(Duration.ofHours(1)).after(throwing));
        assertTrue(later.cancel());
        Task<?> never = Task.of(ctx -> {}).named("never-enqueued").after(throwing);
        assertTrue(never.cancel());

        assertEquals("ok", ok.await(GENEROUS));
        assertEquals("ok", ok.future().get());
        assertSame(bodyFailure, failureOf(bad));
        assertThrows(CancellationException.class, () -> later.await(GENEROUS));
        assertThrows(CancellationException.class, () -> never.await(GENEROUS));
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
        assertEquals("fine", q.submitJob(ctx -> "fine").await(GENEROUS), "the queue keeps working");
        q.shutdown();
        QueueStats s = q.stats();
        assertEquals(2, s.succeeded());
        assertEquals(1, s.failed());
        assertEquals(1, s.cancelled());
        assertStatsAddUp(s);
      }
    }

    @Test
    void aListenerThatThrowsFromEveryMethodHarmsNoTaskAndIsLoggedOncePerKind() throws Exception {
      RecordingListener broken = new RecordingListener() {
        @Override
        protected void recorded(Event event) {
          fault();
          throw new IllegalStateException("listener broken in " + event.kind());
        }
      };
      RecordingListener counter = new RecordingListener(); // added after the broken one: still called
      try (LogCapture log = new LogCapture()) {
        WorkQueue q =
            fx.started(WorkQueue.builder("listener-faults")
                .retryPolicy(NO_BACKOFF)
                .abandonAfter(Duration.ofMillis(100))
                .listener(broken)
                .listener(counter));
        runOneTaskOfEachOutcome(q);
        abandonOneTaskAndShutDown(q);

        Map<String, Integer> expected = new TreeMap<>(Map.of(
            "onEnqueued", 9, "onRejected", 1, "onAttemptStarted", 9, "onAttemptFinished", 9,
            "onRetryScheduled", 1, "onSucceeded", 6, "onFailed", 1, "onCancelled", 2, "onAbandoned", 1));
        assertEquals(expected, broken.countsByKind(), "every event reached the broken listener");
        assertEquals(expected, counter.countsByKind(), "and the listener after it");
        QueueStats s = q.stats();
        assertEquals(9, s.submitted());
        assertEquals(1, s.rejected());
        assertEquals(6, s.succeeded());
        assertEquals(1, s.failed());
        assertEquals(2, s.cancelled());
        assertStatsAddUp(s);
        assertOneWarningPerKindOfEvent(log);
      }
    }

    /** Five tasks that succeed, one that succeeds on a retry, one that fails, one cancelled. */
    private void runOneTaskOfEachOutcome(WorkQueue q) throws Exception {
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
        assertEquals(i, fine.get(i).await(GENEROUS));
      }
      assertEquals("second", flaky.await(GENEROUS));
      assertEquals(2, flaky.attempts());
      assertInstanceOf(IOException.class, failureOf(failing));
      assertThrows(CancellationException.class, () -> delayed.await(GENEROUS));
    }

    /** A task that ignores its interruption is abandoned by shutdownNow(); a submit is refused. */
    private void abandonOneTaskAndShutDown(WorkQueue q) throws Exception {
      Blocker stubborn = fx.blocker();
      Task<?> stuck = q.enqueue(Task.of(ctx -> stubborn.blockIgnoringInterrupts()));
      stubborn.awaitStarted();
      ShutdownReport report = q.shutdownNow();
      assertEquals(1, report.abandoned().size(), report::toString);
      assertThrows(RejectedExecutionException.class, () -> q.submit(ctx -> {}));
      stubborn.release();
      assertThrows(CancellationException.class, () -> stuck.await(GENEROUS));
      q.shutdown(); // terminated: every listener call has been made
    }

    private static void assertOneWarningPerKindOfEvent(LogCapture log) {
      Pattern threwFrom = Pattern.compile("listener .* threw from (\\w+);");
      List<String> kinds = new ArrayList<>();
      for (String m : log.messages(Level.WARN, m -> m.contains("threw from"))) {
        Matcher matcher = threwFrom.matcher(m);
        assertTrue(matcher.find(), m);
        kinds.add(matcher.group(1));
      }
      kinds.sort(null);
      assertEquals(RecordingListener.KINDS, kinds, "one WARN per kind of event, the later ones at DEBUG");
    }

    @Test
    void aRegistryWhoseGaugesThrowLeavesTheQueueCountingWithoutGauges() throws Exception {
      AtomicInteger gaugeCalls = new AtomicInteger();
      SimpleMeterRegistry registry = new SimpleMeterRegistry() {
        @Override
        protected <T> Gauge newGauge(Meter.Id id, @Nullable T obj, ToDoubleFunction<T> valueFunction) {
          if (!id.getName().startsWith("loomwork.tasks.") || id.getName().startsWith("loomwork.tasks.wait")) {
            return super.newGauge(id, obj, valueFunction); // the timers' histogram gauges
          }
          gaugeCalls.incrementAndGet();
          fault();
          throw new IllegalStateException("no gauges here");
        }
      };
      try (LogCapture log = new LogCapture()) {
        WorkQueue q = fx.started(WorkQueue.builder("gauge-faults").meterRegistry(registry));
        List<Task<Integer>> tasks = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
          int n = i;
          tasks.add(q.submitJob(ctx -> n));
        }
        for (int i = 0; i < 5; i++) {
          assertEquals(i, tasks.get(i).await(GENEROUS));
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
  }

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

  @Nested
  class ThreadFactories {
    @Test
    void aFactoryThatAlwaysReturnsNullFailsEachTaskAfterRetriesPlusOneAttempts() throws Exception {
      FaultyFactory factory = new FaultyFactory("null-factory", n -> true, n -> null);
      WorkQueue q =
          fx.started(WorkQueue.builder("null-factory").retryPolicy(NO_BACKOFF.withRetries(2)).threadFactory(factory));
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
      WorkQueue q =
          fx.unstarted(
              WorkQueue.builder("throwing-factory").retryPolicy(NO_BACKOFF.withRetries(3)).threadFactory(factory));
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
      WorkQueue q = fx.started(WorkQueue.builder("oom-factory").retryPolicy(NO_BACKOFF).threadFactory(factory));
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
          fx.started(WorkQueue.builder("flaky-factory")
              .concurrency(4)
              .retryPolicy(NO_BACKOFF.withRetries(20)) // a task cannot lose 21 draws in a row
              .threadFactory(factory));
      int n = 60;
      List<Task<Integer>> tasks = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int v = i;
        tasks.add(q.submitJob(ctx -> v));
      }
      int attempts = 0;
      for (int i = 0; i < n; i++) {
        assertEquals(i, tasks.get(i).await(GENEROUS));
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
      RecordingListener pairing = new RecordingListener();
      FaultyFactory factory = new FaultyFactory("pairing-factory", n -> true, n -> null);
      WorkQueue q =
          fx.started(WorkQueue.builder("pairing-factory")
              .retryPolicy(NO_BACKOFF.withRetries(1))
              .threadFactory(factory)
              .listener(pairing));
      Task<?> task = q.submit(ctx -> {});
      assertInstanceOf(RejectedExecutionException.class, failureOf(task));
      q.shutdown();
      assertEquals(2, task.attempts());
      assertEquals(2, pairing.events(AttemptFinished.class).size(), "two attempts ended");
      assertEquals(2, pairing.events(AttemptStarted.class).size(), "so two attempts started");
    }
  }
}
