package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.QueueFixture.Blocker;
import dev.loomwork.RecordingListener.RetryScheduled;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A queue with two attempts blocked (interruptibly) on a latch, three tasks pending because the
 * concurrency is 2, and one task waiting out a 10-minute backoff; then checks that cancelling the
 * thread in {@code run()} cancelled all of it. Shared by {@link ParentInterruptTest} and {@link
 * StructuredParentScopeTest}; it uses no preview API, so both runner executions can load it. Closing
 * it releases the attempts, stops the owner thread if one was started, and shuts the queue down.
 */
final class CancelScenario implements AutoCloseable {
  final RecordingListener events = new RecordingListener();
  /** The two running attempts block here; released by {@link #close()}. */
  final Blocker blocked = new Blocker(2);
  final AtomicInteger pendingRan = new AtomicInteger();
  final AtomicInteger afterCalls = new AtomicInteger();
  final CompletableFuture<Boolean> interruptedOnReturn = new CompletableFuture<>();
  final CompletableFuture<Throwable> runThrew = new CompletableFuture<>();
  final String name;
  final WorkQueue queue;
  final Task<Void> waiting;
  final List<Task<?>> running = new ArrayList<>();
  final List<Task<?>> pending = new ArrayList<>();
  private @Nullable Thread owner;

  CancelScenario(String name) {
    this.name = name;
    queue = WorkQueue.builder(name).concurrency(2).abandonAfter(GENEROUS).listener(events).build();
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
          queue.enqueue(Task.of(blocked.work()).named("running-" + i).after(t -> afterCalls.incrementAndGet())));
    }
    for (int i = 0; i < 3; i++) {
      pending.add(
          queue.enqueue(
              Task.of(ctx -> pendingRan.incrementAndGet())
                  .named("pending-" + i)
                  .after(t -> afterCalls.incrementAndGet())));
    }
  }

  /** Starts the platform thread that owns the scenario's parent; {@link #close()} stops it. */
  Thread startOwner(String threadName, Runnable body) {
    Thread started = Thread.ofPlatform().name(threadName).start(body);
    owner = started;
    return started;
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

  /** Waits until the retry of "waiting" is scheduled and both running attempts have started. */
  void awaitInPlace() throws InterruptedException {
    events.awaitFirst(RetryScheduled.class);
    blocked.awaitStarted();
  }

  /** Called once run() must have returned (its thread ended, or the parent scope closed). */
  void assertCancelledAndReturned() throws InterruptedException {
    assertTrue(runThrew.isDone(), "run() returned");
    assertNull(runThrew.getNow(null), () -> "run() threw " + runThrew.getNow(null));
    assertTrue(interruptedOnReturn.getNow(false), "interrupt status set when run() returned");
    QueueFixture.await(blocked.interrupted, "every running attempt saw an InterruptedException");
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

  /** Releases the running attempts, stops the owner thread if it still runs, shuts the queue down. */
  @Override
  public void close() throws InterruptedException {
    blocked.release();
    Thread started = owner;
    if (started != null && started.isAlive()) {
      started.interrupt();
      started.join(GENEROUS);
    }
    queue.shutdown(GENEROUS);
  }
}
