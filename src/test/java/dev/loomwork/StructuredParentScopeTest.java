package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.StructuredTaskScope;
import java.util.concurrent.StructuredTaskScope.Joiner;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code parentScope.fork(queue::run)} ties the queue's life to a parent {@link StructuredTaskScope}
 * (DESIGN.md section 1, "Parent scopes"): cancelling the parent interrupts {@code run()}, which cancels
 * every task and returns. Uses the JDK 25 preview API, so it runs only in the preview execution.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a safety net against hangs, not a timing assertion
class StructuredParentScopeTest {

  private static final long GENEROUS_SECONDS = 10;

  @Test
  void interruptingTheParentScopeOwnerCancelsTheQueue() throws Exception {
    Scenario s = new Scenario("parent-owner-interrupted");
    CompletableFuture<Throwable> joinOutcome = new CompletableFuture<>();
    CompletableFuture<Void> scopeClosed = new CompletableFuture<>();
    Thread owner = null;
    try {
      owner =
          Thread.ofPlatform()
              .name("parent-scope-owner")
              .start(
                  () -> {
                    try (StructuredTaskScope<Object, Void> scope =
                        StructuredTaskScope.open(Joiner.awaitAll())) {
                      scope.fork(s::runQueue);
                      try {
                        scope.join();
                        joinOutcome.complete(null);
                      } catch (Throwable e) {
                        joinOutcome.complete(e);
                      }
                    } // close() cancels the scope, interrupting run(), and waits for it
                    catch (Throwable e) {
                      scopeClosed.completeExceptionally(e);
                    }
                    scopeClosed.complete(null);
                  });
      s.awaitInPlace();

      owner.interrupt(); // the owner is blocked in scope.join()
      owner.join(Duration.ofSeconds(GENEROUS_SECONDS));

      assertFalse(owner.isAlive(), "the parent scope closed");
      assertInstanceOf(InterruptedException.class, joinOutcome.getNow(null));
      scopeClosed.getNow(null); // close() did not throw
      s.assertCancelledAndReturned();
    } finally {
      s.release.countDown();
      if (owner != null && owner.isAlive()) {
        owner.interrupt();
        owner.join(Duration.ofSeconds(GENEROUS_SECONDS));
      }
      s.queue.shutdown(Duration.ofSeconds(GENEROUS_SECONDS));
    }
  }

  @Test
  void aFailingSiblingCancelsTheParentScopeAndTheQueue() throws Exception {
    Scenario s = new Scenario("parent-sibling-failed");
    try {
      IllegalStateException boom = new IllegalStateException("sibling failed");
      Callable<Object> failingSibling =
          () -> {
            s.awaitInPlace();
            throw boom;
          };
      try (StructuredTaskScope<Object, Void> scope =
          StructuredTaskScope.open(Joiner.awaitAllSuccessfulOrThrow())) {
        scope.fork(s::runQueue);
        scope.fork(failingSibling);
        StructuredTaskScope.FailedException e =
            assertThrows(StructuredTaskScope.FailedException.class, scope::join);
        assertEquals(boom, e.getCause());
      } // close() waits for run() to return
      s.assertCancelledAndReturned();
    } finally {
      s.release.countDown();
      s.queue.shutdown(Duration.ofSeconds(GENEROUS_SECONDS));
    }
  }

  /**
   * A queue with two attempts blocked (interruptibly) on a latch, three tasks pending because the
   * concurrency is 2, and one task waiting out a 10-minute backoff.
   */
  private static final class Scenario {
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

    Scenario(String name) {
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

    /** Called once the parent scope has closed, so run() must have returned. */
    void assertCancelledAndReturned() throws InterruptedException {
      assertTrue(runThrew.isDone(), "run() returned before the parent scope closed");
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
}
