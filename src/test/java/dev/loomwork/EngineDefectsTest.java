package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Seven engine defects found from outside, each reproduced through the public API only. Every test
 * here fails on the engine as it was when they were found, and states the behaviour that must hold
 * once it is fixed. Timeouts are hang guards, never speed assertions: a test that would hang on the
 * defect fails when its guard runs out.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // a safety net against hangs, not a timing assertion
class EngineDefectsTest {
  /** How long anything that must happen is given before the test calls it a hang. */
  static final Duration HANG_GUARD = Duration.ofSeconds(30);

  /** A duration far beyond anything an {@code Instant} or a count of nanoseconds can hold. */
  static final Duration ABSURD = Duration.ofSeconds(Long.MAX_VALUE);

  private final List<WorkQueue> queues = new ArrayList<>();
  private final List<CountDownLatch> latches = new ArrayList<>();

  @AfterEach
  void releaseAndShutDown() {
    latches.forEach(l -> {
      while (l.getCount() > 0) {
        l.countDown();
      }
    });
    for (WorkQueue q : queues) {
      q.shutdown(HANG_GUARD); // everything is released: drains, or cancels what is left
      q.shutdown(); // returns once terminated: no attempt thread outlives the test
    }
  }

  private WorkQueue track(WorkQueue q) {
    queues.add(q);
    return q;
  }

  private CountDownLatch latch() {
    CountDownLatch l = new CountDownLatch(1);
    latches.add(l);
    return l;
  }

  private static boolean await(CountDownLatch latch) throws InterruptedException {
    return latch.await(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
  }

  private static Set<String> names(List<TaskSnapshot> snapshots) {
    return snapshots.stream().map(TaskSnapshot::name).collect(Collectors.toSet());
  }

  // ---------------------------------------------------------------------------------------------
  // 1. A cancelling shutdown of a never-started queue runs tasks
  // ---------------------------------------------------------------------------------------------

  enum CancellingShutdown {
    SHUTDOWN_NOW,
    SHUTDOWN_ZERO,
    SHUTDOWN_NEGATIVE;

    ShutdownReport apply(WorkQueue q) {
      return switch (this) {
        case SHUTDOWN_NOW -> q.shutdownNow();
        case SHUTDOWN_ZERO -> q.shutdown(Duration.ZERO);
        case SHUTDOWN_NEGATIVE -> q.shutdown(Duration.ofMillis(-1));
      };
    }
  }

  @Nested
  class NeverStartedQueue {
    static final int TASKS = 2_000;
    static final int ROUNDS = 20; // the defect is a race: one round often misses it

    @ParameterizedTest
    @EnumSource(CancellingShutdown.class)
    void aCancellingShutdownRunsNoTaskAndReportsEveryOneCancelled(CancellingShutdown how) {
      for (int round = 1; round <= ROUNDS; round++) {
        AtomicInteger ran = new AtomicInteger();
        WorkQueue q = WorkQueue.builder("never-started-" + round).build(); // never started
        List<Task<?>> tasks = new ArrayList<>(TASKS);
        for (int i = 0; i < TASKS; i++) {
          tasks.add(q.submit(ctx -> ran.incrementAndGet()));
        }
        ShutdownReport report = how.apply(q);
        String where = how + ", round " + round + ": ";
        assertEquals(0, ran.get(), where + "bodies ran although the shutdown cancels everything pending");
        assertEquals(TASKS, report.cancelled().size(), where + "tasks the report lists as cancelled");
        assertEquals(
            tasks.stream().map(Task::name).collect(Collectors.toSet()),
            names(report.cancelled()),
            where + "every task is listed");
        for (Task<?> t : tasks) {
          assertEquals(TaskState.CANCELLED, t.state(), where + t);
        }
        assertTrue(report.abandoned().isEmpty(), where + report.abandoned());
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 2. The JVM cannot exit after a shutdown abandoned a task
  // ---------------------------------------------------------------------------------------------

  @Nested
  class AbandonedTask {
    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void theJvmExitsWhenMainReturnsAfterAShutdownAbandonedATask(@TempDir Path dir) throws Exception {
      // The child's task ignores interrupts for 2 minutes; it must not keep the JVM alive.
      Child child = Child.run(dir, Duration.ofSeconds(60), List.of(), AbandonedTaskExitMain.class);
      assertTrue(
          child.output().contains(AbandonedTaskExitMain.REPORT + "abandoned=[stubborn] cancelled=[]"),
          "the shutdown reports the task as abandoned:\n" + child.output());
      assertTrue(
          child.exited(),
          "the child JVM did not exit within 60 s of starting although main returned after the"
              + " shutdown; it was destroyed. Output:\n" + child.output());
      assertEquals(0, child.exitCode(), child.output());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 3. task.future().cancel(true) breaks the Future contract
  // ---------------------------------------------------------------------------------------------

  @Nested
  class FutureCancel {
    @Test
    void cancelTrueCompletesTheFutureAtOnceAndTheTaskEndsCancelledWhenTheBodyReturns()
        throws Exception {
      CountDownLatch attemptEnded = latch();
      WorkQueue q = track(WorkQueue.builder("future-cancel").abandonAfter(HANG_GUARD)
          .listener(new WorkQueueListener() {
            @Override
            public void onAttemptFinished(Task<?> task, int attempt, AttemptOutcome outcome,
                Duration duration, @Nullable Throwable error) {
              if (task.name().equals("stubborn")) {
                attemptEnded.countDown();
              }
            }
          })
          .build());
      q.start();
      // A task that already ended: cancel(true) returns false and the future stays a success.
      Task<String> succeeded = q.enqueue(Task.ofJob(ctx -> "succeeded"));
      assertEquals("succeeded", succeeded.await(HANG_GUARD));
      assertFalse(succeeded.future().cancel(true), "cancel(true) of a task that succeeded");
      assertFalse(succeeded.future().isCancelled());
      assertEquals("succeeded", succeeded.future().get(30, TimeUnit.SECONDS));
      assertEquals(TaskState.SUCCEEDED, succeeded.state());

      // A running task whose body ignores its interruption.
      CountDownLatch started = latch();
      CountDownLatch interrupted = latch();
      CountDownLatch release = latch();
      CountDownLatch ended = latch();
      AtomicBoolean returned = new AtomicBoolean();
      Task<String> stubborn = q.enqueue(Task.ofJob(ctx -> {
        started.countDown();
        awaitIgnoringInterrupts(release, interrupted);
        returned.set(true);
        return "returned normally";
      }).named("stubborn").after(t -> ended.countDown()));
      assertTrue(await(started));
      CompletableFuture<String> future = stubborn.future();
      assertTrue(future.cancel(true), "cancel(true) of a running task");
      assertTrue(future.isDone(), "isDone() at once after cancel(true) returned true");
      assertTrue(future.isCancelled(), "isCancelled() at once after cancel(true) returned true");
      assertThrows(CancellationException.class, () -> future.get(30, TimeUnit.SECONDS),
          "get() throws CancellationException at once (a TimeoutException means it waited for the body)");
      assertTrue(await(interrupted), "the running attempt was interrupted");
      assertFalse(returned.get(), "the body still runs: it ignores its interruption");

      release.countDown(); // the body now returns normally
      assertTrue(await(attemptEnded), "the attempt ended");
      assertTrue(await(ended), "the task reached its terminal state");
      assertTrue(returned.get());
      assertEquals(TaskState.CANCELLED, stubborn.state(), "the body returned normally after the cancel");
      assertThrows(CancellationException.class, () -> stubborn.await(HANG_GUARD));
      assertTrue(future.isCancelled());
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

    /**
     * The race is over within a few hundred nanoseconds of the attempt's end, so the cancelling
     * thread (this one) spins instead of parking, and each cancel follows one of four triggers plus a
     * delay that sweeps 0 to 10 µs. In the fourth, this thread also holds the queue's lock while the
     * body returns, by enqueueing a task with a deadline through a clock that waits (today's engine
     * reads the clock under its lock; a listener holds the attempt until then): the attempt's end
     * then queues behind it, and the cancel, made as soon as the lock is free, lands in the window.
     * The clock only widens the window; every check is of the public contract.
     */
    @Test
    void cancelTrueRacingABodyThatReturnsAtOnceAgreesWithTheTasksFinalState() throws Exception {
      int n = 2_000;
      AtomicBoolean attemptStarted = new AtomicBoolean();
      AtomicBoolean gate = new AtomicBoolean(); // holds the attempt until the clock holds the lock
      HoldingClock clock = new HoldingClock();
      WorkQueue q = track(WorkQueue.builder("future-cancel-race").concurrency(1).clock(clock)
          .listener(new WorkQueueListener() {
            @Override
            public void onAttemptStarted(Task<?> task, int attempt, Duration waited) {
              attemptStarted.set(true);
              if (gate.getAndSet(false)) {
                spinUntil(clock::isHolding, HOLD_CAP_NANOS);
              }
            }
          })
          .build());
      q.start();
      Map<String, List<String>> wrong = new TreeMap<>(); // what went wrong: the tasks it went wrong for
      for (int i = 0; i < n; i++) {
        int value = i;
        long delay = (i / 4 % 200) * 50L; // sweeps the cancel across the end of the attempt
        AtomicBoolean returning = new AtomicBoolean();
        CountDownLatch ended = new CountDownLatch(1);
        attemptStarted.set(false);
        gate.set(i % 4 == 3);
        Task<Integer> t = q.enqueue(Task.ofJob(ctx -> {
          returning.set(true);
          return value;
        }).after(task -> ended.countDown()));
        spinUntil(switch (i % 4) {
          case 0 -> () -> t.state() != TaskState.READY; // dispatched
          case 2 -> returning::get; // the body is returning
          default -> attemptStarted::get; // in 3, the attempt then waits at the gate
        });
        if (i % 4 == 3) {
          clock.holdOnce(returning, delay); // holds the lock until the body returned, and then some
          q.enqueue(Task.of(ctx -> {}).within(Duration.ofHours(1))); // reads the clock
          delay = 0;
        }
        spinFor(delay);
        boolean cancelled = t.future().cancel(true);
        assertTrue(await(ended), t + " ended"); // the task ends before it is checked
        TaskState state = t.state();
        boolean futureCancelled = t.future().isCancelled();
        TaskState expected = cancelled ? TaskState.CANCELLED : TaskState.SUCCEEDED;
        if (state != expected || futureCancelled != cancelled) {
          wrong.computeIfAbsent("cancel(true) returned " + cancelled + ", then state " + state
              + " and future().isCancelled() " + futureCancelled, k -> new ArrayList<>()).add(t.name());
        }
      }
      assertTrue(wrong.isEmpty(), () -> "of " + n + " tasks, these disagree with their cancel(true):"
          + wrong.entrySet().stream().map(e -> "\n  " + e.getKey() + ": " + e.getValue().size()
              + " tasks, e.g. " + e.getValue().stream().limit(5).toList()).collect(Collectors.joining()));
    }

    /** How long the race's helpers wait for each other at most (a cap, not an expectation). */
    private static final long HOLD_CAP_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    /** Busy-waits until {@code condition} holds (a hang guard ends the wait). */
    private static void spinUntil(BooleanSupplier condition) {
      spinUntil(condition, HANG_GUARD.toNanos());
    }

    /** Busy-waits for {@code nanos}: a few microseconds of work, not a synchronisation. */
    private static void spinFor(long nanos) {
      spinUntil(() -> false, nanos);
    }

    /** A clock that, once armed, waits (up to a cap) for a flag, then {@code thenNanos} more. */
    private static final class HoldingClock implements InstantSource {
      private final AtomicReference<BooleanSupplier> hold = new AtomicReference<>();
      private volatile long thenNanos;
      private volatile boolean holding;

      boolean isHolding() {
        return holding;
      }

      void holdOnce(AtomicBoolean until, long thenNanos) {
        this.thenNanos = thenNanos;
        hold.set(until::get);
      }

      @Override
      public Instant instant() {
        BooleanSupplier until = hold.getAndSet(null);
        if (until != null) {
          holding = true;
          spinUntil(until, HOLD_CAP_NANOS);
          spinFor(thenNanos);
          holding = false;
        }
        return Instant.now();
      }
    }

    /** Busy-waits until {@code condition} holds or {@code nanos} pass. */
    private static void spinUntil(BooleanSupplier condition, long nanos) {
      long end = System.nanoTime() + nanos;
      while (!condition.getAsBoolean() && System.nanoTime() - end < 0) {
        Thread.onSpinWait();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 4. shutdownNow() of a million pending tasks needs more than 2 GB when called from a deep stack
  // ---------------------------------------------------------------------------------------------

  @Nested
  class MillionPendingTasks {
    @Test
    @Timeout(value = 200, unit = TimeUnit.SECONDS)
    void shutdownNowFromADeepStackCancelsAMillionPendingTasksIn512MbOfHeap(@TempDir Path dir)
        throws Exception {
      Child child = Child.run(dir, Duration.ofSeconds(150),
          List.of("-Xmx512m", "-XX:+ExitOnOutOfMemoryError"), MillionCancelMain.class);
      assertTrue(child.exited(),
          "the child did not end within 150 s; destroyed. Output:\n" + child.output());
      assertEquals(0, child.exitCode(),
          "the child's exit code (3: OutOfMemoryError). Output:\n" + child.output());
      assertTrue(
          child.output().contains(MillionCancelMain.REPORT + "cancelled=" + MillionCancelMain.TASKS),
          "the report lists every pending task as cancelled:\n" + child.output());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 5. Absurd durations
  // ---------------------------------------------------------------------------------------------

  @Nested
  class AbsurdDurations {
    @Test
    void anAbsurdWithinIsAcceptedAndMeansNoDeadline() throws Exception {
      WorkQueue q = track(WorkQueue.builder("absurd-within").build());
      q.start();
      Task<String> t = Task.ofJob(ctx -> "ran").within(ABSURD);
      assertDoesNotThrow(() -> q.enqueue(t), "enqueue of a task with within(" + ABSURD + ")");
      assertEquals("ran", t.await(HANG_GUARD));
      assertEquals(TaskState.SUCCEEDED, t.state());
      assertEquals(1, t.attempts());
    }

    @Test
    void absurdWaitsAreAcceptedAndTheTasksWaitUntilShutdownNowCancelsThem() throws Exception {
      CountDownLatch retryScheduled = latch();
      WorkQueue q = track(WorkQueue.builder("absurd-wait")
          .listener(new WorkQueueListener() {
            @Override
            public void onRetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) {
              retryScheduled.countDown();
            }
          })
          .build());
      q.start();
      AtomicInteger ran = new AtomicInteger();
      Task<?> delayed = Task.of(ctx -> ran.incrementAndGet()).named("absurd-delay").delay(ABSURD);
      assertDoesNotThrow(() -> q.enqueue(delayed), "enqueue of a task with delay(" + ABSURD + ")");
      assertEquals(TaskState.WAITING, delayed.state());
      // The same at the end of time, and for a retry after an absurd backoff.
      Task<?> endOfTime = q.enqueue(
          Task.of(ctx -> ran.incrementAndGet()).named("end-of-time").notBefore(Instant.MAX));
      assertEquals(TaskState.WAITING, endOfTime.state());
      Task<?> retrying = q.enqueue(Task.of(ctx -> {
        throw new IOException("the first attempt fails");
      }).named("absurd-backoff").retries(1).backoff(new Backoff(ABSURD, 2.0, ABSURD, 0.2)));
      assertTrue(await(retryScheduled), "the failed attempt's retry was scheduled");
      assertEquals(TaskState.WAITING, retrying.state());

      ShutdownReport report = q.shutdownNow();
      assertEquals(Set.of("absurd-delay", "end-of-time", "absurd-backoff"), names(report.cancelled()));
      for (TaskSnapshot s : report.cancelled()) {
        assertEquals(TaskState.WAITING, s.state(), s.toString());
      }
      for (Task<?> t : List.of(delayed, endOfTime, retrying)) {
        assertEquals(TaskState.CANCELLED, t.state(), t.toString());
      }
      assertEquals(0, ran.get(), "no waiting body ran");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 6. A throwing clock or random source strands a task
  // ---------------------------------------------------------------------------------------------

  @Nested
  class ThrowingClockOrRandom {
    @Test
    void aClockThatThrowsFailsTheTaskWhoseRetryItWasAskedFor() throws Exception {
      RuntimeException broke = new IllegalStateException("the clock broke");
      AtomicBoolean broken = new AtomicBoolean(true);
      InstantSource clock = () -> {
        if (broken.get()) {
          throw broke;
        }
        return Instant.now();
      };
      WorkQueue q = track(WorkQueue.builder("throwing-clock").clock(clock).build());
      // At enqueue: the clock's exception reaches the caller and nothing is accepted.
      for (Task<String> t : List.of(
          Task.ofJob(ctx -> "delayed").delay(Duration.ofSeconds(1)),
          Task.ofJob(ctx -> "deadline").within(HANG_GUARD))) {
        assertSame(broke, assertThrows(RuntimeException.class, () -> q.enqueue(t)));
        assertEquals(0, q.stats().submitted(), "nothing accepted");
      }
      broken.set(false);
      q.start();
      // While a failed attempt's retry is decided.
      Task<?> task = q.enqueue(Task.of(ctx -> {
        broken.set(true);
        throw new IOException("the first attempt fails");
      }).named("retried-with-a-broken-clock").retries(3).backoff(Backoff.fixed(Duration.ofMillis(10))));
      assertEndsFailedWith(broke, task);
      assertQueueStillWorksAndDrains(q, broken);
    }

    @Test
    void aRandomSourceThatThrowsFailsTheTaskWhoseRetryItWasAskedFor() throws Exception {
      RuntimeException broke = new IllegalStateException("the random source broke");
      AtomicBoolean broken = new AtomicBoolean();
      RandomGenerator random = () -> {
        if (broken.get()) {
          throw broke;
        }
        return ThreadLocalRandom.current().nextLong();
      };
      WorkQueue q = track(WorkQueue.builder("throwing-random").random(random).build());
      q.start();
      Task<?> task = q.enqueue(Task.of(ctx -> {
        broken.set(true);
        throw new IOException("the first attempt fails");
      }).named("retried-with-a-broken-random").retries(3)
          .backoff(Backoff.exponential(Duration.ofMillis(10), Duration.ofSeconds(1)))); // with jitter
      assertEndsFailedWith(broke, task);
      assertQueueStillWorksAndDrains(q, broken);
    }

    private static void assertEndsFailedWith(RuntimeException broke, Task<?> task) {
      TaskFailedException e = assertThrows(TaskFailedException.class, () -> task.await(HANG_GUARD),
          "the task must fail (a TimeoutException means it was stranded and never ended)");
      assertSame(broke, task.error(), "error() is the exception the queue's source threw");
      assertSame(broke, e.getCause());
      assertEquals(TaskState.FAILED, task.state());
      assertEquals(1, task.attempts());
    }

    private static void assertQueueStillWorksAndDrains(WorkQueue q, AtomicBoolean broken)
        throws Exception {
      broken.set(false);
      Task<String> next = q.enqueue(Task.ofJob(ctx -> "still working"));
      assertEquals("still working", next.await(HANG_GUARD));
      q.shutdown();
      assertTrue(q.isTerminated());
      QueueStats s = q.stats();
      assertEquals(0, s.outstanding(), s.toString());
      assertEquals(1, s.succeeded(), s.toString());
      assertEquals(1, s.failed(), s.toString());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 7. The scheduler thread runs user code
  // ---------------------------------------------------------------------------------------------

  @Nested
  class SchedulerThread {
    @Test
    void aPendingTaskPastItsDeadlineRunsItsCallbacksOffTheSchedulerThread() throws Exception {
      String name = "deadline-callbacks";
      String scheduler = "loomwork-" + name + "-scheduler";
      Map<String, String> threads = new ConcurrentHashMap<>();
      CountDownLatch blockerStarted = latch();
      CountDownLatch afterStarted = latch();
      CountDownLatch unblockAfter = latch();
      WorkQueue q = track(WorkQueue.builder(name).concurrency(1)
          .listener(new WorkQueueListener() {
            @Override
            public void onFailed(Task<?> task, Throwable error) {
              threads.put("listener onFailed", Thread.currentThread().getName());
            }
          })
          .build());
      q.start();
      // Holds the only permit until the late task's after-callback has started.
      q.enqueue(Task.of(ctx -> {
        blockerStarted.countDown();
        afterStarted.await();
      }).named("blocker"));
      assertTrue(await(blockerStarted));
      AtomicInteger lateRan = new AtomicInteger();
      Task<?> late = q.enqueue(Task.of(ctx -> lateRan.incrementAndGet()).named("late")
          .within(Duration.ofMillis(50))
          .after(t -> {
            threads.put("after-callback", Thread.currentThread().getName());
            afterStarted.countDown();
            try {
              unblockAfter.await(); // until the delayed task has run
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }));
      CompletableFuture<?> continuation = late.future()
          .whenComplete((v, e) -> threads.put("future continuation", Thread.currentThread().getName()));
      assertTrue(await(afterStarted), "the late task passed its deadline while pending");

      // Becomes ready only through the scheduler: it cannot if the after-callback blocks that thread.
      Task<?> delayed = q.enqueue(Task.of(ctx -> unblockAfter.countDown()).named("delayed")
          .delay(Duration.ofMillis(50)));
      try {
        delayed.await(HANG_GUARD);
      } catch (TimeoutException e) {
        fail("the delayed task never ran: the blocked after-callback holds the thread it needs"
            + " (callback threads: " + threads + ")");
      }
      assertInstanceOf(DeadlineExceededException.class,
          assertThrows(TaskFailedException.class, () -> late.await(HANG_GUARD)).getCause());
      assertThrows(ExecutionException.class, () -> continuation.get(30, TimeUnit.SECONDS));
      assertEquals(0, lateRan.get(), "no attempt starts after the deadline");
      for (String callback : List.of("after-callback", "listener onFailed", "future continuation")) {
        assertNotNull(threads.get(callback), callback + " ran: " + threads);
        assertNotEquals(scheduler, threads.get(callback), callback + " ran on the scheduler thread");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Child JVMs
  // ---------------------------------------------------------------------------------------------

  /** A child JVM run to its end (or destroyed at its timeout), with its output. */
  record Child(boolean exited, int exitCode, String output) {

    /**
     * Runs {@code main} in a child JVM in this JVM's runner mode (with {@code --enable-preview} if this
     * JVM has it) and waits up to {@code timeout} for it to exit; destroys it if it is still alive.
     */
    static Child run(Path dir, Duration timeout, List<String> jvmOptions, Class<?> main)
        throws IOException, InterruptedException {
      Path out = dir.resolve(main.getSimpleName() + ".out");
      Process process = new ProcessBuilder(ChildJvm.command(jvmOptions, main))
          .redirectErrorStream(true)
          .redirectOutput(out.toFile())
          .start();
      boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!exited) {
        process.destroyForcibly();
        process.waitFor(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
      }
      String output = Files.readString(out);
      System.out.println("[" + main.getSimpleName() + "]\n" + output);
      assertRunnerMode(output);
      return new Child(exited, exited ? process.exitValue() : -1, output);
    }

    private static void assertRunnerMode(String output) {
      String expected = System.getProperty("loomwork.expectedRunner");
      if (expected != null) {
        String runner = expected.equals("structured") ? "(structured runner)" : "(fallback runner)";
        assertTrue(output.contains(runner), "the child runs in this JVM's runner mode " + runner
            + ":\n" + output);
      }
    }
  }
}
