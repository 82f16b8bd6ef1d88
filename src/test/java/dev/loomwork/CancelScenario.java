package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A queue with two attempts blocked (interruptibly) on a latch, three tasks pending because the
 * concurrency is 2, and one task waiting out a 10-minute backoff; then checks that cancelling the
 * thread in {@code run()} cancelled all of it. Shared by {@link ParentInterruptTest} and {@link
 * StructuredParentScopeTest}; it uses no preview API, so both runner executions can load it.
 */
final class CancelScenario {
  static final long GENEROUS_SECONDS = 10;

  final CountDownLatch retryScheduled = new CountDownLatch(1);
  final CountDownLatch release = new CountDownLatch(1);
  final CountDownLatch started = new CountDownLatch(2);
  final CountDownLatch sawInterrupt = new CountDownLatch(2);
  final AtomicInteger pendingRan = new AtomicInteger();
  final AtomicInteger afterCalls = new AtomicInteger();
  final CompletableFuture<Boolean> interruptedOnReturn = new CompletableFuture<>();
  final CompletableFuture<Throwable> runThrew = new CompletableFuture<>();
  final String name;
  final WorkQueue queue;
  final Task<Void> waiting;
  final List<Task<?>> running = new ArrayList<>();
  final List<Task<?>> pending = new ArrayList<>();

  CancelScenario(String name) {
    this.name = name;
    queue =
        WorkQueue.builder(name)
            .concurrency(2)
            .abandonAfter(Duration.ofSeconds(GENEROUS_SECONDS))
            .listener(
                new WorkQueueListener() {
                  @Override
                  public void onRetryScheduled(Task<?> task, Throwable error, Instant at) {
                    retryScheduled.countDown();
                  }
                })
            .build();
    waiting =
        queue.enqueue(
            Task.of(
                    ctx -> {
                      throw new IOException("flaky");
                    })
                .named("waiting")
                .retries(3)
                .backoff(Backoff.fixed(Duration.ofMinutes(10)))
                .after(t -> afterCalls.incrementAndGet()));
    for (int i = 0; i < 2; i++) {
      running.add(
          queue.enqueue(
              Task.of(
                      ctx -> {
                        started.countDown();
                        try {
                          release.await();
                        } catch (InterruptedException e) {
                          sawInterrupt.countDown();
                          throw e;
                        }
                      })
                  .named("running-" + i)
                  .after(t -> afterCalls.incrementAndGet())));
    }
    for (int i = 0; i < 3; i++) {
      pending.add(
          queue.enqueue(
              Task.of(ctx -> pendingRan.incrementAndGet())
                  .named("pending-" + i)
                  .after(t -> afterCalls.incrementAndGet())));
    }
  }

  /** The subtask forked into the parent scope: runs the queue and records how run() ended. */
  void runQueue() {
    try {
      queue.run();
      runThrew.complete(null);
    } catch (RuntimeException | Error e) {
      runThrew.complete(e);
      throw e;
    } finally {
      interruptedOnReturn.complete(Thread.currentThread().isInterrupted());
    }
  }

  void awaitInPlace() throws InterruptedException {
    assertTrue(retryScheduled.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
    assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
  }

  /** Called once run() must have returned (its thread ended, or the parent scope closed). */
  void assertCancelledAndReturned() throws InterruptedException {
    assertTrue(runThrew.isDone(), "run() returned");
    assertNull(runThrew.getNow(null), () -> "run() threw " + runThrew.getNow(null));
    assertTrue(interruptedOnReturn.getNow(false), "interrupt status set when run() returned");
    assertTrue(
        sawInterrupt.await(GENEROUS_SECONDS, TimeUnit.SECONDS),
        "every running attempt saw an InterruptedException");
    assertEquals(0, pendingRan.get(), "pending tasks never ran");
    List<Task<?>> all = new ArrayList<>(pending);
    all.addAll(running);
    all.add(waiting);
    for (Task<?> t : all) {
      assertEquals(TaskState.CANCELLED, t.state(), t::toString);
      assertTrue(t.future().isDone(), () -> t + ": future not done when run() returned");
      assertThrows(CancellationException.class, () -> t.future().getNow(null), t::toString);
    }
    assertEquals(1, waiting.attempts(), "a task cancelled in its backoff is not retried");
    assertEquals(all.size(), afterCalls.get(), "each after-callback ran once");
    assertTrue(queue.isTerminated());
    assertEquals(0, queue.stats().outstanding(), queue.stats()::toString);
    assertEquals(all.size(), queue.stats().cancelled());
  }
}
