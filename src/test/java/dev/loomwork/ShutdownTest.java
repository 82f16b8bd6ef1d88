package dev.loomwork;

import static dev.loomwork.QueueFixture.awaitCondition;
import static dev.loomwork.QueueFixture.get;
import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.loomwork.QueueFixture.Background;
import dev.loomwork.QueueFixture.Blocker;
import dev.loomwork.RecordingListener.Abandoned;
import dev.loomwork.RecordingListener.Rejected;
import dev.loomwork.RecordingListener.RetryScheduled;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The shutdown semantics of DESIGN.md section 5: {@code shutdown()}, {@code shutdown(Duration)},
 * {@code shutdownNow()}, {@code close()} and {@code WorkQueue.join}. Every test runs under both
 * runners (surefire's two executions).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a safety net against hangs, not a timing assertion
class ShutdownTest {

  /** A grace long enough that an attempt which honours its interruption is never abandoned. */
  private static final Duration NO_ABANDON = GENEROUS;

  private static final Backoff TWENTY_MS = Backoff.fixed(Duration.ofMillis(20));

  @RegisterExtension final QueueFixture fx = new QueueFixture();

  private static Map<String, TaskSnapshot> byName(List<TaskSnapshot> snapshots) {
    return snapshots.stream().collect(Collectors.toMap(TaskSnapshot::name, s -> s, (a, b) -> a));
  }

  /** Asserts that {@code action} returned in less than the generous timeout: "at once". */
  private static <T> T atOnce(String what, Callable<T> action) throws Exception {
    long t0 = System.nanoTime();
    T result = action.call();
    long elapsedNanos = System.nanoTime() - t0;
    assertTrue(
        elapsedNanos < GENEROUS.toNanos(), () -> what + " took " + elapsedNanos / 1_000_000 + " ms");
    return result;
  }

  /** Asserts that each task ended CANCELLED and its future throws CancellationException. */
  private static void assertAllCancelled(List<? extends Task<?>> tasks) {
    for (Task<?> t : tasks) {
      assertEquals(TaskState.CANCELLED, t.state(), t::toString);
      assertThrows(CancellationException.class, () -> get(t.future()), t::toString);
    }
  }

  /** shutdown() and close(): everything accepted runs to its end. */
  @Nested
  class Drain {
    @Test
    void shutdownDrainsRetriesInBackoffAndDelayedTasks() throws Exception {
      RecordingListener events = new RecordingListener();
      WorkQueue q = fx.started(WorkQueue.builder("drain").abandonAfter(NO_ABANDON).listener(events));
      AtomicInteger afterCalls = new AtomicInteger();
      Consumer<Task<?>> countAfter = t -> afterCalls.incrementAndGet();
      AtomicInteger flakyCalls = new AtomicInteger();
      // Fails twice, then succeeds: its retries happen while the queue is draining.
      Task<String> flaky =
          q.enqueue(
              Task.ofJob(
                      ctx -> {
                        if (flakyCalls.incrementAndGet() < 3) {
                          throw new IOException("flaky " + ctx.attempt());
                        }
                        return "ok";
                      })
                  .named("flaky").retries(5).backoff(TWENTY_MS).after(countAfter));
      // Always fails: exhausts its retries during the drain and ends FAILED.
      IOException last = new IOException("always");
      Task<Void> hopeless =
          q.enqueue(
              Task.of(
                      ctx -> {
                        throw last;
                      })
                  .named("hopeless").retries(2).backoff(TWENTY_MS).after(countAfter));
      // Wait until a task is actually waiting out a backoff before shutting down.
      events.awaitFirst(RetryScheduled.class);

      AtomicInteger delayedRan = new AtomicInteger();
      List<Task<Void>> startingLater = enqueueTwoStartingLater(q, delayedRan, countAfter);
      List<Task<?>> all = new ArrayList<>(List.of(flaky, hopeless));
      all.addAll(startingLater);
      for (int i = 0; i < 20; i++) {
        all.add(q.submit(ctx -> {}));
      }

      q.shutdown();

      assertDrained(q, all, 23, 1);
      assertEquals("ok", flaky.future().getNow("not done"));
      assertEquals(TaskState.SUCCEEDED, flaky.state());
      assertEquals(3, flaky.attempts());
      assertEquals(TaskState.FAILED, hopeless.state());
      assertEquals(3, hopeless.attempts(), "retries(2) means three attempts, all run by the drain");
      assertSame(last, hopeless.error());
      for (Task<Void> t : startingLater) {
        assertEquals(TaskState.SUCCEEDED, t.state(), t::toString);
      }
      assertEquals(2, delayedRan.get());
      assertEquals(4, afterCalls.get(), "every after-callback ran once before shutdown() returned");
    }

    /** Enqueues "delayed" (by 200 ms) and "not-before" (now + 200 ms); both wait in the scheduler. */
    private static List<Task<Void>> enqueueTwoStartingLater(
        WorkQueue q, AtomicInteger ran, Consumer<Task<?>> after) {
      Task<Void> delayed =
          q.enqueue(Task.of(ctx -> ran.incrementAndGet()).named("delayed").delay(Duration.ofMillis(200)).after(after));
      Task<Void> notBefore =
          q.enqueue(
              Task.of(ctx -> ran.incrementAndGet())
                  .named("not-before").notBefore(Instant.now().plusMillis(200)).after(after));
      // Accepted with a future start: they wait in the scheduler, not in the ready queue.
      assertEquals(TaskState.WAITING, delayed.state());
      assertEquals(TaskState.WAITING, notBefore.state());
      return List.of(delayed, notBefore);
    }

    /** shutdown() returned: the queue terminated with every task done, and these counts. */
    private static void assertDrained(WorkQueue q, List<Task<?>> all, int succeeded, int failed) {
      assertTrue(q.isShutdown());
      assertTrue(q.isTerminated(), "shutdown() returns only once the queue has terminated");
      QueueStats stats = q.stats();
      assertEquals(0, stats.outstanding(), () -> "nothing may be left: " + stats);
      assertEquals(all.size(), stats.submitted());
      assertEquals(all.size(), stats.completed());
      assertEquals(succeeded, stats.succeeded());
      assertEquals(failed, stats.failed());
      assertEquals(0, stats.cancelled());
      for (Task<?> t : all) {
        assertTrue(t.isDone(), () -> t + " is not terminal");
        assertTrue(t.future().isDone(), () -> t + ": future not completed");
      }
    }

    @Test
    void shutdownRunsTheTasksOfAQueueThatWasNeverStarted() throws Exception {
      WorkQueue q = fx.unstarted(WorkQueue.builder("never-started").abandonAfter(NO_ABANDON));
      AtomicInteger ran = new AtomicInteger();
      List<Task<?>> tasks = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        tasks.add(q.submit(ctx -> ran.incrementAndGet()));
      }
      Task<String> job = q.submitJob(ctx -> "result of " + ctx.taskName());
      Task<Void> delayed = q.enqueue(Task.of(ctx -> ran.incrementAndGet()).delay(Duration.ofMillis(50)));
      assertEquals(0, ran.get(), "nothing runs before the queue is started");
      assertFalse(q.isTerminated());

      q.shutdown();

      assertTrue(q.isTerminated());
      assertEquals(6, ran.get(), "shutdown() starts a never-started queue so its tasks run");
      for (Task<?> t : tasks) {
        assertEquals(TaskState.SUCCEEDED, t.state());
      }
      assertEquals("result of " + job.name(), job.future().getNow(null));
      assertEquals(TaskState.SUCCEEDED, delayed.state());
      assertEquals(0, q.stats().outstanding());
      assertEquals(7, q.stats().succeeded());
    }

    @Test
    void closeDrainsLikeShutdown() throws Exception {
      AtomicInteger ran = new AtomicInteger();
      AtomicInteger calls = new AtomicInteger();
      WorkQueue queue;
      Task<Integer> flaky;
      Task<Void> delayed;
      List<Task<?>> plain = new ArrayList<>();
      try (WorkQueue q = WorkQueue.builder("close").abandonAfter(NO_ABANDON).build()) {
        queue = q;
        q.start();
        flaky =
            q.enqueue(
                Task.ofJob(
                        ctx -> {
                          if (calls.incrementAndGet() < 3) {
                            throw new IllegalStateException("not yet");
                          }
                          return ctx.attempt();
                        })
                    .retries(3)
                    .backoff(TWENTY_MS));
        delayed = q.enqueue(Task.of(ctx -> ran.incrementAndGet()).delay(Duration.ofMillis(100)));
        for (int i = 0; i < 10; i++) {
          plain.add(q.submit(ctx -> ran.incrementAndGet()));
        }
      } // close() drains
      assertTrue(queue.isShutdown());
      assertTrue(queue.isTerminated(), "close() returns only once the queue has terminated");
      assertEquals(0, queue.stats().outstanding());
      assertEquals(Integer.valueOf(3), flaky.future().getNow(-1), "the retries ran during close()");
      assertEquals(TaskState.SUCCEEDED, delayed.state());
      for (Task<?> t : plain) {
        assertEquals(TaskState.SUCCEEDED, t.state());
      }
      assertEquals(11, ran.get());
      assertEquals(12, queue.stats().succeeded());
    }
  }

  @Nested
  class RejectionAfterShutdown {
    @Test
    void everyWayToSubmitIsRejectedAfterShutdownWithTheQueueName() throws Exception {
      String name = "rejecting-queue-7";
      RecordingListener events = new RecordingListener();
      WorkQueue q = fx.started(WorkQueue.builder(name).abandonAfter(NO_ABANDON).listener(events));
      q.submit(ctx -> {}).await(GENEROUS);
      q.shutdown();
      assertTrue(q.isShutdown());

      List<RejectedExecutionException> refusals = new ArrayList<>();
      refusals.add(assertThrows(RejectedExecutionException.class, () -> q.submit(ctx -> {})));
      refusals.add(assertThrows(RejectedExecutionException.class, () -> q.submitJob(ctx -> 1)));
      Task<Void> enqueued = Task.of(ctx -> {});
      refusals.add(assertThrows(RejectedExecutionException.class, () -> q.enqueue(enqueued)));
      Task<Void> delayed = Task.of(ctx -> {}).delay(Duration.ofMinutes(1));
      refusals.add(assertThrows(RejectedExecutionException.class, () -> q.enqueue(delayed)));
      Task<Void> offered = Task.of(ctx -> {});
      refusals.add(assertThrows(RejectedExecutionException.class, () -> q.offer(offered)));
      Task<Void> offeredWithTimeout = Task.of(ctx -> {});
      refusals.add(
          assertThrows(
              RejectedExecutionException.class,
              () -> q.offer(offeredWithTimeout, Duration.ofSeconds(1))));

      for (RejectedExecutionException e : refusals) {
        assertNotNull(e.getMessage());
        assertTrue(e.getMessage().contains(name), () -> "message must name the queue: " + e);
      }
      assertEquals(6, q.stats().rejected(), "stats().rejected() counts every refusal");
      assertEquals(1, q.stats().submitted(), "a refused task is not counted as submitted");
      // shutdown() returned with the queue terminated and onTerminated delivered, its last event:
      // what is refused after that is refused by the exception and the count, not by an event.
      assertEquals(List.of(), events.events(Rejected.class), "no event after onTerminated");
      assertEquals(TaskState.NEW, enqueued.state(), "a refused task was never accepted");
      assertFalse(enqueued.isDone());
    }

    @Test
    void aTaskRefusedWhileTheQueueDrainsIsReportedToListeners() throws Exception {
      String name = "draining-queue-8";
      RecordingListener events = new RecordingListener();
      WorkQueue q = fx.started(WorkQueue.builder(name).listener(events));
      Blocker blocker = fx.blocker();
      q.submit(blocker.work());
      blocker.awaitStarted();
      Background<Void> drain =
          fx.inBackground("drain", () -> {
            q.shutdown();
            return null;
          });
      awaitCondition("the queue is shut down", q::isShutdown);
      Task<Void> refused = Task.of(ctx -> {}).named("refused");
      RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> q.enqueue(refused));
      assertTrue(e.getMessage().contains(name), e.getMessage());
      List<Rejected> rejected = events.events(Rejected.class);
      assertEquals(1, rejected.size(), "refused before the queue terminated: delivered");
      assertEquals(name, rejected.getFirst().queue());
      assertSame(refused, rejected.getFirst().task());
      blocker.release();
      drain.get();
      assertEquals(1, q.stats().rejected());
    }
  }

  /** shutdown(Duration): drains until the deadline, then cancels what is left and reports it. */
  @Nested
  class Deadline {
    @Test
    void shutdownWithDeadlineCancelsPendingWaitingAndRunningTasksAndReportsThem() throws Exception {
      RecordingListener events = new RecordingListener();
      WorkQueue q =
          fx.unstarted(WorkQueue.builder("deadline").concurrency(1).abandonAfter(NO_ABANDON).listener(events));
      Instant beforeEnqueue = Instant.now();
      IOException firstFailure = new IOException("first attempt failed");
      // With one slot and FIFO dispatch: "backoff" runs first, fails and waits 10 minutes; then
      // "running" takes the slot and blocks; "pending-N" never get a slot.
      Task<Void> backoff =
          q.enqueue(
              Task.of(
                      ctx -> {
                        throw firstFailure;
                      })
                  .named("backoff")
                  .retries(3)
                  .backoff(Backoff.fixed(Duration.ofMinutes(10))));
      Blocker blocker = fx.blocker();
      Task<Void> running = q.enqueue(Task.of(blocker.work()).named("running"));
      AtomicInteger pendingRan = new AtomicInteger();
      List<Task<?>> pending = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        pending.add(q.enqueue(Task.of(ctx -> pendingRan.incrementAndGet()).named("pending-" + i)));
      }
      q.start();
      events.awaitFirst(RetryScheduled.class);
      blocker.awaitStarted();
      assertEquals(TaskState.WAITING, backoff.state());
      Instant expectedRetry = backoff.nextAttemptAt();
      assertNotNull(expectedRetry);

      ShutdownReport report = atOnce("shutdown(100 ms)", () -> q.shutdown(Duration.ofMillis(100)));

      assertTrue(
          report.elapsed().compareTo(Duration.ofMillis(100)) >= 0,
          () -> "it drains until the deadline: " + report.elapsed());
      assertEquals("deadline", report.queue());
      assertFalse(report.drained());
      assertEquals(List.of(), report.abandoned(), "the running body honoured its interruption");
      assertEquals(0, report.succeeded());
      assertEquals(0, report.failed());
      blocker.awaitInterrupted();
      assertEquals(5, report.cancelled().size(), "each task is reported once");
      assertReportedAsTheyWereWhenCut(byName(report.cancelled()), firstFailure, expectedRetry, beforeEnqueue);

      assertNothingLeftToRun(q, backoff, running, pending, pendingRan);
    }

    /** Every task is terminal, and nothing was left to run. */
    private static void assertNothingLeftToRun(
        WorkQueue q, Task<Void> backoff, Task<Void> running, List<Task<?>> pending, AtomicInteger pendingRan) {
      List<Task<?>> all = new ArrayList<>(pending);
      all.add(backoff);
      all.add(running);
      assertAllCancelled(all);
      assertEquals(0, pendingRan.get(), "cancelled pending tasks never run");
      assertEquals(1, backoff.attempts(), "a task cancelled in its backoff is not retried");
      assertNull(backoff.nextAttemptAt());
      QueueStats stats = q.stats();
      assertEquals(0, stats.outstanding(), stats::toString);
      assertEquals(5, stats.cancelled());
    }

    /** The snapshots of "backoff" (waiting to retry), "running" and "pending-N" (ready). */
    private static void assertReportedAsTheyWereWhenCut(
        Map<String, TaskSnapshot> cancelled, IOException firstFailure, Instant expectedRetry, Instant beforeEnqueue) {
      assertEquals(Set.of("backoff", "running", "pending-0", "pending-1", "pending-2"), cancelled.keySet());

      TaskSnapshot b = cancelled.get("backoff");
      assertEquals("deadline", b.queue());
      assertEquals(TaskState.WAITING, b.state());
      assertEquals(1, b.attempts());
      assertSame(firstFailure, b.lastError());
      assertEquals(expectedRetry, b.nextAttemptAt());
      assertTrue(
          b.nextAttemptAt().isAfter(beforeEnqueue.plus(Duration.ofMinutes(9))),
          () -> "next attempt was due ~10 min out: " + b.nextAttemptAt());

      for (int i = 0; i < 3; i++) {
        TaskSnapshot p = cancelled.get("pending-" + i);
        assertEquals(TaskState.READY, p.state());
        assertEquals(0, p.attempts());
        assertNull(p.lastError());
        assertNull(p.nextAttemptAt());
      }

      TaskSnapshot r = cancelled.get("running");
      assertEquals(TaskState.RUNNING, r.state());
      assertEquals(1, r.attempts());
      assertNull(r.nextAttemptAt());
    }

    @Test
    void shutdownWithDeadlineAbandonsAnAttemptThatIgnoresItsInterruption() throws Exception {
      RecordingListener events = new RecordingListener();
      WorkQueue q =
          fx.started(WorkQueue.builder("stubborn-queue").abandonAfter(Duration.ofMillis(200)).listener(events));
      Blocker stubbornBody = fx.blocker();
      AtomicBoolean bodyReturned = new AtomicBoolean();
      Task<Void> stubborn =
          q.enqueue(
              Task.of(
                      ctx -> {
                        stubbornBody.blockIgnoringInterrupts(); // keeps waiting for the release
                        bodyReturned.set(true);
                      })
                  .named("stubborn")
                  .retries(3)
                  .backoff(Backoff.none()));
      stubbornBody.awaitStarted();

      // Run the shutdown elsewhere so that a hang fails the test instead of blocking it.
      ShutdownReport report =
          atOnce(
              "shutdown(100 ms) of a stubborn attempt",
              () -> fx.inBackground("stubborn-shutdown", () -> q.shutdown(Duration.ofMillis(100))).get());

      // It returned while the body is still blocked: the latch is not released yet.
      assertFalse(stubbornBody.released());
      assertFalse(bodyReturned.get());
      stubbornBody.awaitInterrupted();
      assertReportsOnlyTheAbandonedTask(report);
      assertEquals(List.of(stubborn), events.tasks(Abandoned.class), "onAbandoned fired once, for that task");
      assertEquals(TaskState.RUNNING, stubborn.state(), "it still runs");
      assertFalse(stubborn.future().isDone());

      stubbornBody.release();
      assertThrows(CancellationException.class, () -> get(stubborn.future()));
      assertTrue(bodyReturned.get());
      assertEquals(TaskState.CANCELLED, stubborn.state(), "ends CANCELLED, not retried");
      assertEquals(1, stubborn.attempts());
      q.shutdown(); // waits for the queue to terminate now that the body has returned
      assertTrue(q.isTerminated());
    }

    private static void assertReportsOnlyTheAbandonedTask(ShutdownReport report) {
      assertFalse(report.drained());
      assertEquals(1, report.abandoned().size(), report::toString);
      TaskSnapshot a = report.abandoned().get(0);
      assertEquals("stubborn-queue", a.queue());
      assertEquals("stubborn", a.name());
      assertEquals(TaskState.RUNNING, a.state());
      assertEquals(1, a.attempts());
      assertTrue(
          report.cancelled().stream().noneMatch(s -> s.name().equals("stubborn")),
          "an abandoned task is not also reported as cancelled");
    }

    @Test
    void taskThatCompletesDuringATimedDrainIsCountedAsSucceeded() throws Exception {
      WorkQueue q = fx.started(WorkQueue.builder("drain-succeeds").abandonAfter(NO_ABANDON));
      Blocker blocker = fx.blocker();
      Task<String> slow = q.submitJob(blocker.job("done"));
      blocker.awaitStarted();
      Background<ShutdownReport> shutdown =
          fx.inBackground("timed-drain", () -> q.shutdown(Duration.ofSeconds(30))); // a deadline never reached
      // The shutdown has begun once the queue refuses work: a state, checked without sleeping.
      awaitCondition("the shutdown has begun", q::isShutdown);
      assertEquals(0, q.stats().succeeded(), "the task has not completed before the drain");
      blocker.release(); // let it complete during the drain

      ShutdownReport report = shutdown.get();
      assertEquals(1, report.succeeded(), report::toString);
      assertEquals(0, report.failed());
      assertTrue(report.drained());
      assertEquals(TaskState.SUCCEEDED, slow.state());
      assertEquals("done", slow.await(GENEROUS));
      assertTrue(q.isTerminated());
    }
  }

  @Nested
  class Now {
    @Test
    void shutdownNowCancelsPendingTasksAtOnce() throws Exception {
      WorkQueue q = fx.unstarted(WorkQueue.builder("now").concurrency(1).abandonAfter(NO_ABANDON));
      Map<String, AtomicInteger> afterCalls = new ConcurrentHashMap<>();
      Consumer<Task<?>> countAfter =
          t -> afterCalls.computeIfAbsent(t.name(), k -> new AtomicInteger()).incrementAndGet();
      Blocker blocker = fx.blocker();
      Task<Void> running = q.enqueue(Task.of(blocker.work()).named("running").after(countAfter));
      AtomicInteger pendingRan = new AtomicInteger();
      List<Task<?>> pending = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        pending.add(q.enqueue(Task.of(ctx -> pendingRan.incrementAndGet()).named("pending-" + i).after(countAfter)));
      }
      pending.add(
          q.enqueue(
              Task.of(ctx -> pendingRan.incrementAndGet())
                  .named("waiting")
                  .delay(Duration.ofMinutes(10))
                  .after(countAfter)));
      q.start();
      blocker.awaitStarted();

      ShutdownReport report = atOnce("shutdownNow()", q::shutdownNow);

      assertFalse(report.drained());
      assertEquals(List.of(), report.abandoned());
      Map<String, TaskSnapshot> cancelled = byName(report.cancelled());
      assertEquals(
          Set.of("running", "pending-0", "pending-1", "pending-2", "pending-3", "waiting"), cancelled.keySet());
      assertEquals(TaskState.WAITING, cancelled.get("waiting").state());
      assertNotNull(cancelled.get("waiting").nextAttemptAt());
      assertEquals(TaskState.READY, cancelled.get("pending-0").state());
      assertEquals(TaskState.RUNNING, cancelled.get("running").state());

      // Pending futures are already complete when shutdownNow() returns.
      for (Task<?> t : pending) {
        assertCancelledAlready(t);
      }
      assertThrows(CancellationException.class, () -> get(running.future()));
      assertEquals(TaskState.CANCELLED, running.state());
      assertEquals(0, pendingRan.get());

      q.shutdown(); // terminated already; a second shutdown changes nothing
      assertTrue(q.isTerminated());
      assertEquals(6, afterCalls.size(), () -> "after-callbacks: " + afterCalls);
      afterCalls.forEach(
          (name, calls) -> assertEquals(1, calls.get(), () -> name + ": after-callback count"));
      assertEquals(6, q.stats().cancelled());
    }

    /** The task is cancelled and its future completed, without waiting. */
    private static void assertCancelledAlready(Task<?> t) throws InterruptedException {
      assertEquals(TaskState.CANCELLED, t.state(), t::toString);
      assertTrue(t.future().isDone(), t::toString);
      assertTrue(t.future().isCancelled(), t::toString);
      ExecutionException notExpected = null;
      try {
        t.future().get();
        fail("a cancelled task's future has no value: " + t);
      } catch (CancellationException expected) {
        // the contract
      } catch (ExecutionException e) {
        notExpected = e;
      }
      assertNull(notExpected, () -> "expected CancellationException for " + t);
      assertThrows(CancellationException.class, t::await);
    }
  }

  @Nested
  class Join {
    @Test
    void joinShutsSeveralQueuesDownUnderOneDeadlineAndReportsInOrder() throws Exception {
      WorkQueue drains = fx.started(WorkQueue.builder("join-drains").abandonAfter(NO_ABANDON));
      WorkQueue stuck = fx.started(WorkQueue.builder("join-stuck").abandonAfter(NO_ABANDON));
      WorkQueue alsoStuck = fx.started(WorkQueue.builder("join-also-stuck").abandonAfter(NO_ABANDON));
      AtomicInteger ran = new AtomicInteger();
      Task<Void> quick = drains.submit(ctx -> ran.incrementAndGet());
      Blocker blocker = fx.blocker(2);
      Task<Void> blocked1 = stuck.submit(blocker.work());
      Task<Void> blocked2 = alsoStuck.submit(blocker.work());
      blocker.awaitStarted();

      List<ShutdownReport> reports =
          atOnce("join(200 ms)", () -> WorkQueue.join(Duration.ofMillis(200), drains, stuck, alsoStuck));

      assertEquals(3, reports.size());
      assertEquals(
          List.of("join-drains", "join-stuck", "join-also-stuck"),
          reports.stream().map(ShutdownReport::queue).toList(),
          "one report per queue, in the order given");
      assertTrue(reports.get(0).drained());
      assertEquals(1, reports.get(0).succeeded());
      assertEquals(1, ran.get());
      assertEquals(TaskState.SUCCEEDED, quick.state());
      for (int i = 1; i < 3; i++) {
        ShutdownReport r = reports.get(i);
        assertFalse(r.drained());
        assertEquals(1, r.cancelled().size());
        assertEquals(TaskState.RUNNING, r.cancelled().get(0).state());
      }
      assertEquals(TaskState.CANCELLED, blocked1.state());
      assertEquals(TaskState.CANCELLED, blocked2.state());
      for (WorkQueue q : List.of(drains, stuck, alsoStuck)) {
        assertTrue(q.isShutdown(), q::toString);
        assertEquals(0, q.stats().outstanding(), q::toString);
      }
    }
  }
}
