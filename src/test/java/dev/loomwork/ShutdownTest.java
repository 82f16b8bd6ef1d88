package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The shutdown semantics of DESIGN.md section 5: {@code shutdown()}, {@code shutdown(Duration)},
 * {@code shutdownNow()}, {@code close()} and {@code WorkQueue.join}. Every test runs under both
 * runners (surefire's two executions).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a safety net against hangs, not a timing assertion
class ShutdownTest {

  /** Generous bound for anything that should happen "at once" or "on time". */
  private static final long GENEROUS_SECONDS = 10;

  /** A grace long enough that an attempt which honours its interruption is never abandoned. */
  private static final Duration NO_ABANDON = Duration.ofSeconds(GENEROUS_SECONDS);

  // ---------------------------------------------------------------------------------------------
  // shutdown(): drains everything accepted
  // ---------------------------------------------------------------------------------------------

  @Test
  void shutdownDrainsRetriesInBackoffAndDelayedTasks() throws Exception {
    CountDownLatch firstFailure = new CountDownLatch(1);
    WorkQueue q =
        WorkQueue.builder("drain")
            .abandonAfter(NO_ABANDON)
            .listener(
                new WorkQueueListener() {
                  @Override
                  public void onRetryScheduled(Task<?> task, Throwable error, Instant at) {
                    firstFailure.countDown();
                  }
                })
            .build();
    AtomicInteger afterCalls = new AtomicInteger();
    List<Task<?>> all = new ArrayList<>();
    try {
      q.start();
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
                  .named("flaky")
                  .retries(5)
                  .backoff(Backoff.fixed(Duration.ofMillis(20)))
                  .after(t -> afterCalls.incrementAndGet()));
      all.add(flaky);
      // Always fails: exhausts its retries during the drain and ends FAILED.
      IOException last = new IOException("always");
      Task<Void> hopeless =
          q.enqueue(
              Task.of(
                      ctx -> {
                        throw last;
                      })
                  .named("hopeless")
                  .retries(2)
                  .backoff(Backoff.fixed(Duration.ofMillis(20)))
                  .after(t -> afterCalls.incrementAndGet()));
      all.add(hopeless);
      // Wait until a task is actually waiting out a backoff before shutting down.
      assertTrue(firstFailure.await(GENEROUS_SECONDS, TimeUnit.SECONDS));

      AtomicInteger delayedRan = new AtomicInteger();
      Task<Void> delayed =
          q.enqueue(
              Task.of(ctx -> delayedRan.incrementAndGet())
                  .named("delayed")
                  .delay(Duration.ofMillis(200))
                  .after(t -> afterCalls.incrementAndGet()));
      all.add(delayed);
      Task<Void> notBefore =
          q.enqueue(
              Task.of(ctx -> delayedRan.incrementAndGet())
                  .named("not-before")
                  .notBefore(Instant.now().plusMillis(200))
                  .after(t -> afterCalls.incrementAndGet()));
      all.add(notBefore);
      // Accepted with a future start: they wait in the scheduler, not in the ready queue.
      assertEquals(TaskState.WAITING, delayed.state());
      assertEquals(TaskState.WAITING, notBefore.state());
      for (int i = 0; i < 20; i++) {
        all.add(q.submit(ctx -> {}));
      }

      q.shutdown();

      assertTrue(q.isShutdown());
      assertTrue(q.isTerminated(), "shutdown() returns only once the queue has terminated");
      QueueStats stats = q.stats();
      assertEquals(0, stats.outstanding(), () -> "nothing may be left: " + stats);
      assertEquals(24, stats.submitted());
      assertEquals(24, stats.completed());
      assertEquals(23, stats.succeeded());
      assertEquals(1, stats.failed());
      assertEquals(0, stats.cancelled());
      for (Task<?> t : all) {
        assertTrue(t.isDone(), () -> t + " is not terminal");
        assertTrue(t.future().isDone(), () -> t + ": future not completed");
      }
      assertEquals("ok", flaky.future().getNow("not done"));
      assertEquals(TaskState.SUCCEEDED, flaky.state());
      assertEquals(3, flaky.attempts());
      assertEquals(TaskState.FAILED, hopeless.state());
      assertEquals(3, hopeless.attempts(), "retries(2) means three attempts, all run by the drain");
      assertSame(last, hopeless.error());
      assertEquals(TaskState.SUCCEEDED, delayed.state());
      assertEquals(TaskState.SUCCEEDED, notBefore.state());
      assertEquals(2, delayedRan.get());
      assertEquals(4, afterCalls.get(), "every after-callback ran once before shutdown() returned");
    } finally {
      q.shutdown();
    }
  }

  @Test
  void shutdownRunsTheTasksOfAQueueThatWasNeverStarted() throws Exception {
    WorkQueue q = WorkQueue.builder("never-started").abandonAfter(NO_ABANDON).build();
    try {
      AtomicInteger ran = new AtomicInteger();
      List<Task<?>> tasks = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        tasks.add(q.submit(ctx -> ran.incrementAndGet()));
      }
      Task<String> job = q.submitJob(ctx -> "result of " + ctx.taskName());
      Task<Void> delayed =
          q.enqueue(Task.of(ctx -> ran.incrementAndGet()).delay(Duration.ofMillis(50)));
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
    } finally {
      q.shutdown();
    }
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
                  .backoff(Backoff.fixed(Duration.ofMillis(20))));
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

  // ---------------------------------------------------------------------------------------------
  // Rejection after shutdown
  // ---------------------------------------------------------------------------------------------

  @Test
  void everyWayToSubmitIsRejectedAfterShutdownWithTheQueueName() throws Exception {
    String name = "rejecting-queue-7";
    List<String> rejectedEvents = new CopyOnWriteArrayList<>();
    WorkQueue q =
        WorkQueue.builder(name)
            .abandonAfter(NO_ABANDON)
            .listener(
                new WorkQueueListener() {
                  @Override
                  public void onRejected(String queue, Task<?> task, String reason) {
                    rejectedEvents.add(queue);
                  }
                })
            .build();
    try {
      q.start();
      q.submit(ctx -> {}).await(Duration.ofSeconds(GENEROUS_SECONDS));
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
      assertEquals(6, rejectedEvents.size());
      assertTrue(rejectedEvents.stream().allMatch(name::equals));
      assertEquals(TaskState.NEW, enqueued.state(), "a refused task was never accepted");
      assertFalse(enqueued.isDone());
    } finally {
      q.shutdown();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // shutdown(Duration)
  // ---------------------------------------------------------------------------------------------

  @Test
  void shutdownWithDeadlineCancelsPendingWaitingAndRunningTasksAndReportsThem() throws Exception {
    CountDownLatch retryScheduled = new CountDownLatch(1);
    WorkQueue q =
        WorkQueue.builder("deadline")
            .concurrency(1)
            .abandonAfter(NO_ABANDON)
            .listener(
                new WorkQueueListener() {
                  @Override
                  public void onRetryScheduled(Task<?> task, Throwable error, Instant at) {
                    retryScheduled.countDown();
                  }
                })
            .build();
    CountDownLatch release = new CountDownLatch(1);
    try {
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
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch interrupted = new CountDownLatch(1);
      Task<Void> running =
          q.enqueue(
              Task.of(
                      ctx -> {
                        started.countDown();
                        try {
                          release.await();
                        } catch (InterruptedException e) {
                          interrupted.countDown();
                          throw e;
                        }
                      })
                  .named("running"));
      AtomicInteger pendingRan = new AtomicInteger();
      List<Task<?>> pending = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        pending.add(q.enqueue(Task.of(ctx -> pendingRan.incrementAndGet()).named("pending-" + i)));
      }
      q.start();
      assertTrue(retryScheduled.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
      assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
      assertEquals(TaskState.WAITING, backoff.state());
      Instant expectedRetry = backoff.nextAttemptAt();
      assertNotNull(expectedRetry);

      long t0 = System.nanoTime();
      ShutdownReport report = q.shutdown(Duration.ofMillis(100));
      long elapsedNanos = System.nanoTime() - t0;

      assertTrue(
          elapsedNanos < TimeUnit.SECONDS.toNanos(GENEROUS_SECONDS),
          () -> "shutdown(100 ms) took " + elapsedNanos / 1_000_000 + " ms");
      assertTrue(
          report.elapsed().compareTo(Duration.ofMillis(100)) >= 0,
          () -> "it drains until the deadline: " + report.elapsed());
      assertEquals("deadline", report.queue());
      assertFalse(report.drained());
      assertEquals(List.of(), report.abandoned(), "the running body honoured its interruption");
      assertEquals(0, report.succeeded());
      assertEquals(0, report.failed());
      assertTrue(interrupted.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "body was interrupted");

      Map<String, TaskSnapshot> cancelled = byName(report.cancelled());
      assertEquals(
          java.util.Set.of("backoff", "running", "pending-0", "pending-1", "pending-2"),
          cancelled.keySet());
      assertEquals(5, report.cancelled().size(), "each task is reported once");

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

      // Every task is terminal, and nothing was left to run.
      List<Task<?>> all = new ArrayList<>(pending);
      all.add(backoff);
      all.add(running);
      for (Task<?> t : all) {
        assertEquals(TaskState.CANCELLED, t.state(), t::toString);
        assertThrows(
            CancellationException.class,
            () -> t.future().get(GENEROUS_SECONDS, TimeUnit.SECONDS),
            t::toString);
      }
      assertEquals(0, pendingRan.get(), "cancelled pending tasks never run");
      assertEquals(1, backoff.attempts(), "a task cancelled in its backoff is not retried");
      assertNull(backoff.nextAttemptAt());
      QueueStats stats = q.stats();
      assertEquals(0, stats.outstanding(), stats::toString);
      assertEquals(5, stats.cancelled());
    } finally {
      release.countDown();
      q.shutdown();
    }
  }

  @Test
  void shutdownWithDeadlineAbandonsAnAttemptThatIgnoresItsInterruption() throws Exception {
    List<Task<?>> abandonedEvents = new CopyOnWriteArrayList<>();
    WorkQueue q =
        WorkQueue.builder("stubborn-queue")
            .abandonAfter(Duration.ofMillis(200))
            .listener(
                new WorkQueueListener() {
                  @Override
                  public void onAbandoned(Task<?> task) {
                    abandonedEvents.add(task);
                  }
                })
            .build();
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch sawInterrupt = new CountDownLatch(1);
    AtomicBoolean bodyReturned = new AtomicBoolean();
    try {
      q.start();
      Task<Void> stubborn =
          q.enqueue(
              Task.of(
                      ctx -> {
                        started.countDown();
                        while (true) { // ignores interruption: keeps waiting for the release
                          try {
                            release.await();
                            break;
                          } catch (InterruptedException e) {
                            sawInterrupt.countDown();
                          }
                        }
                        bodyReturned.set(true);
                      })
                  .named("stubborn")
                  .retries(3)
                  .backoff(Backoff.none()));
      assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));

      // Run the shutdown elsewhere so that a hang fails the test instead of blocking it.
      CompletableFuture<ShutdownReport> shutdown = new CompletableFuture<>();
      long t0 = System.nanoTime();
      Thread.ofPlatform()
          .name("stubborn-shutdown")
          .start(
              () -> {
                try {
                  shutdown.complete(q.shutdown(Duration.ofMillis(100)));
                } catch (Throwable e) {
                  shutdown.completeExceptionally(e);
                }
              });
      ShutdownReport report = shutdown.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
      long elapsedNanos = System.nanoTime() - t0;

      // It returned while the body is still blocked: the latch is not released yet.
      assertEquals(1, release.getCount());
      assertFalse(bodyReturned.get());
      assertTrue(elapsedNanos < TimeUnit.SECONDS.toNanos(GENEROUS_SECONDS));
      assertTrue(sawInterrupt.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "body was interrupted");

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
      assertEquals(List.of(stubborn), abandonedEvents, "onAbandoned fired once, for that task");
      assertEquals(TaskState.RUNNING, stubborn.state(), "it still runs");
      assertFalse(stubborn.future().isDone());

      release.countDown();
      assertThrows(
          CancellationException.class,
          () -> stubborn.future().get(GENEROUS_SECONDS, TimeUnit.SECONDS));
      assertTrue(bodyReturned.get());
      assertEquals(TaskState.CANCELLED, stubborn.state(), "ends CANCELLED, not retried");
      assertEquals(1, stubborn.attempts());
    } finally {
      release.countDown();
      q.shutdown(); // waits for the queue to terminate now that the body has returned
      assertTrue(q.isTerminated());
    }
  }

  @Test
  void taskThatCompletesDuringATimedDrainIsCountedAsSucceeded() throws Exception {
    WorkQueue q = WorkQueue.builder("drain-succeeds").abandonAfter(NO_ABANDON).build();
    CountDownLatch release = new CountDownLatch(1);
    try {
      q.start();
      CountDownLatch started = new CountDownLatch(1);
      Task<String> slow =
          q.submitJob(
              ctx -> {
                started.countDown();
                release.await();
                return "done";
              });
      assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
      CompletableFuture<ShutdownReport> shutdown =
          CompletableFuture.supplyAsync(
              () -> q.shutdown(Duration.ofSeconds(30)), r -> Thread.ofPlatform().start(r));
      // The shutdown has begun once the queue refuses work: a state, checked without sleeping.
      while (!q.isShutdown()) {
        Thread.onSpinWait();
      }
      assertEquals(0, q.stats().succeeded(), "the task has not completed before the drain");
      release.countDown(); // let it complete during the drain

      ShutdownReport report = shutdown.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
      assertEquals(1, report.succeeded(), report::toString);
      assertEquals(0, report.failed());
      assertTrue(report.drained());
      assertEquals(TaskState.SUCCEEDED, slow.state());
      assertEquals("done", slow.await(Duration.ofSeconds(GENEROUS_SECONDS)));
      assertTrue(q.isTerminated());
    } finally {
      release.countDown();
      q.shutdown();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // shutdownNow()
  // ---------------------------------------------------------------------------------------------

  @Test
  void shutdownNowCancelsPendingTasksAtOnce() throws Exception {
    WorkQueue q = WorkQueue.builder("now").concurrency(1).abandonAfter(NO_ABANDON).build();
    CountDownLatch release = new CountDownLatch(1);
    Map<String, AtomicInteger> afterCalls = new ConcurrentHashMap<>();
    Function<String, java.util.function.Consumer<Task<?>>> countAfter =
        name -> t -> afterCalls.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
    try {
      CountDownLatch started = new CountDownLatch(1);
      Task<Void> running =
          q.enqueue(
              Task.of(
                      ctx -> {
                        started.countDown();
                        release.await();
                      })
                  .named("running")
                  .after(countAfter.apply("running")::accept));
      AtomicInteger pendingRan = new AtomicInteger();
      List<Task<?>> pending = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        String name = "pending-" + i;
        pending.add(
            q.enqueue(
                Task.of(ctx -> pendingRan.incrementAndGet())
                    .named(name)
                    .after(countAfter.apply(name)::accept)));
      }
      Task<Void> waiting =
          q.enqueue(
              Task.of(ctx -> pendingRan.incrementAndGet())
                  .named("waiting")
                  .delay(Duration.ofMinutes(10))
                  .after(countAfter.apply("waiting")::accept));
      pending.add(waiting);
      q.start();
      assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));

      long t0 = System.nanoTime();
      ShutdownReport report = q.shutdownNow();
      long elapsedNanos = System.nanoTime() - t0;

      assertTrue(elapsedNanos < TimeUnit.SECONDS.toNanos(GENEROUS_SECONDS));
      assertFalse(report.drained());
      assertEquals(List.of(), report.abandoned());
      Map<String, TaskSnapshot> cancelled = byName(report.cancelled());
      assertEquals(
          java.util.Set.of(
              "running", "pending-0", "pending-1", "pending-2", "pending-3", "waiting"),
          cancelled.keySet());
      assertEquals(TaskState.WAITING, cancelled.get("waiting").state());
      assertNotNull(cancelled.get("waiting").nextAttemptAt());
      assertEquals(TaskState.READY, cancelled.get("pending-0").state());
      assertEquals(TaskState.RUNNING, cancelled.get("running").state());

      // Pending futures are already complete when shutdownNow() returns.
      for (Task<?> t : pending) {
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
      assertThrows(
          CancellationException.class,
          () -> running.future().get(GENEROUS_SECONDS, TimeUnit.SECONDS));
      assertEquals(TaskState.CANCELLED, running.state());
      assertEquals(0, pendingRan.get());

      q.shutdown(); // terminated already; a second shutdown changes nothing
      assertTrue(q.isTerminated());
      assertEquals(6, afterCalls.size(), () -> "after-callbacks: " + afterCalls);
      afterCalls.forEach(
          (name, calls) -> assertEquals(1, calls.get(), () -> name + ": after-callback count"));
      assertEquals(6, q.stats().cancelled());
    } finally {
      release.countDown();
      q.shutdown();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // WorkQueue.join
  // ---------------------------------------------------------------------------------------------

  @Test
  void joinShutsSeveralQueuesDownUnderOneDeadlineAndReportsInOrder() throws Exception {
    WorkQueue drains = WorkQueue.builder("join-drains").abandonAfter(NO_ABANDON).build();
    WorkQueue stuck = WorkQueue.builder("join-stuck").abandonAfter(NO_ABANDON).build();
    WorkQueue alsoStuck = WorkQueue.builder("join-also-stuck").abandonAfter(NO_ABANDON).build();
    CountDownLatch release = new CountDownLatch(1);
    try {
      drains.start();
      stuck.start();
      alsoStuck.start();
      AtomicInteger ran = new AtomicInteger();
      Task<Void> quick = drains.submit(ctx -> ran.incrementAndGet());
      CountDownLatch started = new CountDownLatch(2);
      Task<Void> blocked1 =
          stuck.submit(
              ctx -> {
                started.countDown();
                release.await();
              });
      Task<Void> blocked2 =
          alsoStuck.submit(
              ctx -> {
                started.countDown();
                release.await();
              });
      assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));

      long t0 = System.nanoTime();
      List<ShutdownReport> reports =
          WorkQueue.join(Duration.ofMillis(200), drains, stuck, alsoStuck);
      long elapsedNanos = System.nanoTime() - t0;

      assertTrue(elapsedNanos < TimeUnit.SECONDS.toNanos(GENEROUS_SECONDS));
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
    } finally {
      release.countDown();
      drains.shutdown();
      stuck.shutdown();
      alsoStuck.shutdown();
    }
  }

  private static Map<String, TaskSnapshot> byName(List<TaskSnapshot> snapshots) {
    return snapshots.stream()
        .collect(Collectors.toMap(TaskSnapshot::name, s -> s, (a, b) -> a));
  }
}
