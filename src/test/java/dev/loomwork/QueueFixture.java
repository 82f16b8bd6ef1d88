package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What a queue test needs around it: it builds the test's queues and shuts every one down after the
 * test, hands out latches and {@link Blocker}s that it opens after the test (so that no body stays
 * blocked), runs code on background threads that it joins after the test, and waits for things
 * without sleeping, up to {@link TestTimeouts#GENEROUS}.
 *
 * <p>Register it in a test class (its {@code @Nested} classes share it):
 *
 * <pre>{@code @RegisterExtension final QueueFixture fx = new QueueFixture();}</pre>
 *
 * <p>After each test, before the leak check, it opens every latch it handed out, calls {@code
 * shutdownNow()} and then {@code shutdown()} on every queue (the latter returns once the queue has
 * terminated, so no attempt thread outlives the test) and joins its background threads.
 */
final class QueueFixture implements AfterEachCallback {
  /** The default retries without waiting between attempts: tests of outcomes need no backoff. */
  static final RetryPolicy NO_BACKOFF = RetryPolicy.defaults().withBackoff(Backoff.none());

  private final List<WorkQueue> queues = new CopyOnWriteArrayList<>();
  private final List<CountDownLatch> latches = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();

  /** Builds the queue, starts it, and shuts it down after the test. */
  WorkQueue started(WorkQueue.Builder builder) {
    WorkQueue queue = unstarted(builder);
    queue.start();
    return queue;
  }

  /** Builds the queue without starting it, and shuts it down after the test. */
  WorkQueue unstarted(WorkQueue.Builder builder) {
    WorkQueue queue = builder.build();
    queues.add(queue);
    return queue;
  }

  /** A latch of one, opened after the test if the test did not. */
  CountDownLatch latch() {
    return latch(1);
  }

  /** A latch of {@code count}, opened after the test if the test did not. */
  CountDownLatch latch(int count) {
    CountDownLatch latch = new CountDownLatch(count);
    latches.add(latch);
    return latch;
  }

  /** A blocker for one body, released after the test if the test did not. */
  Blocker blocker() {
    return blocker(1);
  }

  /** A blocker for {@code bodies} bodies, released after the test if the test did not. */
  Blocker blocker(int bodies) {
    Blocker blocker = new Blocker(bodies);
    latches.add(blocker.release);
    return blocker;
  }

  /** Runs {@code body} on a new daemon platform thread, joined after the test. */
  <T> Background<T> inBackground(String name, Callable<T> body) {
    CompletableFuture<T> outcome = new CompletableFuture<>();
    Thread thread =
        Thread.ofPlatform()
            .name(name)
            .daemon(true)
            .start(
                () -> {
                  try {
                    outcome.complete(body.call());
                  } catch (Throwable e) {
                    outcome.completeExceptionally(e);
                  }
                });
    threads.add(thread);
    return new Background<>(thread, outcome);
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    for (CountDownLatch latch : latches) {
      while (latch.getCount() > 0) {
        latch.countDown();
      }
    }
    Throwable failure = null;
    for (WorkQueue queue : queues) {
      try {
        queue.shutdownNow();
        queue.shutdown(); // returns once terminated: no attempt thread outlives the test
      } catch (RuntimeException | Error e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    for (Thread thread : threads) {
      thread.join(GENEROUS);
    }
    if (failure instanceof RuntimeException e) {
      throw e;
    }
    if (failure instanceof Error e) {
      throw e;
    }
  }

  // ---- waiting without sleeping, up to the generous timeout ----

  /** Awaits a failure and returns the {@link TaskFailedException}'s cause: {@code error()} itself. */
  static Throwable failureOf(Task<?> task) {
    TaskFailedException e = assertThrows(TaskFailedException.class, () -> task.await(GENEROUS));
    assertSame(task.error(), e.getCause(), "await's cause is error() itself");
    assertEquals(TaskState.FAILED, task.state());
    return e.getCause();
  }

  /** Waits until {@code latch} opens; fails if it does not within the generous timeout. */
  static void await(CountDownLatch latch, String what) throws InterruptedException {
    assertTrue(latch.await(GENEROUS_SECONDS, TimeUnit.SECONDS), () -> what + " (waited " + GENEROUS + ")");
  }

  /** The value of {@code future}, waiting up to the generous timeout. */
  static <T> T get(Future<T> future) throws Exception {
    return future.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
  }

  /** Spins (yielding) until {@code condition} holds, failing after the generous timeout. */
  static void awaitCondition(String what, BooleanSupplier condition) {
    long giveUp = System.nanoTime() + GENEROUS.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - giveUp > 0) {
        fail("timed out waiting until " + what);
      }
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  /** Waits until {@code thread} is in {@code state} (a producer parked waiting for room, say). */
  static void awaitState(Thread thread, Thread.State state) {
    awaitCondition(
        thread.getName() + " is " + state + " (now " + thread.getState() + ")",
        () -> thread.getState() == state);
  }

  /**
   * Bodies that block until released and tell when they started and when they were interrupted.
   * One blocker serves {@code bodies} bodies: {@link #started} opens once all of them have started.
   */
  static final class Blocker {
    final CountDownLatch started;
    final CountDownLatch interrupted;
    final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger interruptions = new AtomicInteger();

    Blocker(int bodies) {
      started = new CountDownLatch(bodies);
      interrupted = new CountDownLatch(bodies);
    }

    /** A body: starts, then waits for the release; an interruption is counted and rethrown. */
    void block() throws InterruptedException {
      started.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        interruptions.incrementAndGet();
        interrupted.countDown();
        throw e;
      }
    }

    /** A body that will not stop: waits for the release, counting and swallowing every interrupt. */
    void blockIgnoringInterrupts() {
      started.countDown();
      while (true) {
        try {
          release.await();
          return;
        } catch (InterruptedException e) {
          interruptions.incrementAndGet();
          interrupted.countDown();
        }
      }
    }

    /** {@link #block()} as a task body. */
    Work work() {
      return ctx -> block();
    }

    /** {@link #block()} as a job body that returns {@code result} once released. */
    <T> Job<T> job(T result) {
      return ctx -> {
        block();
        return result;
      };
    }

    void awaitStarted() throws InterruptedException {
      await(started, "the blocked bodies started");
    }

    void awaitInterrupted() throws InterruptedException {
      await(interrupted, "the blocked bodies were interrupted");
    }

    /** How many interruptions the bodies saw. */
    int interruptions() {
      return interruptions.get();
    }

    void release() {
      release.countDown();
    }

    boolean released() {
      return release.getCount() == 0;
    }
  }

  /** Code running on a background thread, and its outcome. */
  record Background<T>(Thread thread, CompletableFuture<T> outcome) {
    /** The result, waiting up to the generous timeout. */
    T get() throws Exception {
      return QueueFixture.get(outcome);
    }

    /** What the code threw, waiting up to the generous timeout; fails if it returned. */
    Throwable failure() throws Exception {
      try {
        get();
      } catch (ExecutionException e) {
        return e.getCause();
      }
      return fail("expected " + thread.getName() + " to throw, but it returned");
    }

    boolean isDone() {
      return outcome.isDone();
    }
  }
}
