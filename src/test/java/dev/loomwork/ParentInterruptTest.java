package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Interrupting the thread in {@code run()} cancels the whole queue (DESIGN.md section 1, "Parent
 * scopes"): every running attempt is interrupted, every pending or waiting task is cancelled, and
 * {@code run()} returns with the thread's interrupt status set.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a safety net against hangs, not a timing assertion
class ParentInterruptTest {

  private static final long GENEROUS_SECONDS = 10;

  @Test
  void interruptingTheThreadInRunCancelsEveryTaskAndReturns() throws Exception {
    CountDownLatch retryScheduled = new CountDownLatch(1);
    WorkQueue q =
        WorkQueue.builder("parent-interrupt")
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
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(2);
    CountDownLatch sawInterrupt = new CountDownLatch(2);
    AtomicInteger pendingRan = new AtomicInteger();
    AtomicInteger afterCalls = new AtomicInteger();
    CompletableFuture<Boolean> interruptedOnReturn = new CompletableFuture<>();
    CompletableFuture<Throwable> runThrew = new CompletableFuture<>();
    Thread owner = null;
    try {
      // Two slots, FIFO: "waiting" runs first, fails and waits out a 10-minute backoff; the two
      // "running-N" take the slots and block; the "pending-N" never get a slot.
      Task<Void> waiting =
          q.enqueue(
              Task.of(
                      ctx -> {
                        throw new IOException("flaky");
                      })
                  .named("waiting")
                  .retries(3)
                  .backoff(Backoff.fixed(Duration.ofMinutes(10)))
                  .after(t -> afterCalls.incrementAndGet()));
      List<Task<?>> running = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        running.add(
            q.enqueue(
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
      List<Task<?>> pending = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        pending.add(
            q.enqueue(
                Task.of(ctx -> pendingRan.incrementAndGet())
                    .named("pending-" + i)
                    .after(t -> afterCalls.incrementAndGet())));
      }

      owner =
          Thread.ofPlatform()
              .name("parent-interrupt-owner")
              .start(
                  () -> {
                    try {
                      q.run();
                      runThrew.complete(null);
                    } catch (Throwable e) {
                      runThrew.complete(e);
                    } finally {
                      interruptedOnReturn.complete(Thread.currentThread().isInterrupted());
                    }
                  });
      assertTrue(retryScheduled.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
      assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
      assertEquals(TaskState.WAITING, waiting.state());
      for (Task<?> t : pending) {
        assertEquals(TaskState.READY, t.state(), t::toString);
      }

      owner.interrupt();
      owner.join(Duration.ofSeconds(GENEROUS_SECONDS));

      assertFalse(owner.isAlive(), "run() returned after its thread was interrupted");
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
      assertTrue(q.isShutdown());
      assertTrue(q.isTerminated());
      QueueStats stats = q.stats();
      assertEquals(0, stats.outstanding(), stats::toString);
      assertEquals(all.size(), stats.cancelled());
      RejectedExecutionException e =
          assertThrows(RejectedExecutionException.class, () -> q.submit(ctx -> {}));
      assertTrue(e.getMessage().contains("parent-interrupt"), e::getMessage);
    } finally {
      release.countDown();
      if (owner != null && owner.isAlive()) {
        owner.interrupt();
        owner.join(Duration.ofSeconds(GENEROUS_SECONDS));
      }
      q.shutdown(Duration.ofSeconds(GENEROUS_SECONDS));
    }
  }
}
