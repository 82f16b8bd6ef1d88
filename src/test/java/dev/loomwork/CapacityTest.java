package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

class CapacityTest {
  private static final Duration GENEROUS = Duration.ofSeconds(30);

  /** Spins (yielding) until {@code condition} holds, failing after a generous deadline. */
  private static void awaitCondition(String what, BooleanSupplier condition) {
    long giveUp = System.nanoTime() + GENEROUS.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - giveUp > 0) {
        fail("timed out waiting until " + what);
      }
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  /** Waits until {@code thread} parks in a wait without a timeout (blocked for room). */
  private static void awaitState(Thread thread, Thread.State state) {
    awaitCondition(thread.getName() + " is " + state + " (now " + thread.getState() + ")",
        () -> thread.getState() == state);
  }

  /** Runs {@code body} on a new platform thread; the future completes with its outcome. */
  private static <T> Producer<T> producer(String name, java.util.concurrent.Callable<T> body) {
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
    return new Producer<>(thread, outcome);
  }

  record Producer<T>(Thread thread, CompletableFuture<T> outcome) {
    T get() throws Exception {
      return outcome.get(GENEROUS.toSeconds(), TimeUnit.SECONDS);
    }

    Throwable failure() throws Exception {
      try {
        outcome.get(GENEROUS.toSeconds(), TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        return e.getCause();
      }
      return fail("expected the producer to throw, but it returned");
    }
  }

  /** Records refusals. */
  static final class Rejections implements WorkQueueListener {
    final List<String> reasons = new CopyOnWriteArrayList<>();
    final AtomicInteger retries = new AtomicInteger();
    /** Opens at the first retry; the listener runs on the attempt thread after the queue's lock. */
    final CountDownLatch retried = new CountDownLatch(1);

    @Override
    public void onRejected(String queue, Task<?> task, String reason) {
      reasons.add(task.name() + ": " + reason);
    }

    @Override
    public void onRetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) {
      retries.incrementAndGet();
      retried.countDown();
    }
  }

  private static Task<String> named(String name) {
    return Task.ofJob(ctx -> ctx.taskName()).named(name);
  }

  @Test
  void offerReturnsFalseWhenTheReadyQueueIsFull() throws Exception {
    Rejections listener = new Rejections();
    WorkQueue queue = WorkQueue.builder("cap-offer").capacity(2).listener(listener).build();
    try {
      Task<String> a = named("a");
      Task<String> b = named("b");
      Task<String> c = named("c");
      assertTrue(queue.offer(a));
      assertTrue(queue.offer(b));
      assertFalse(queue.offer(c), "the third offer finds the ready queue full");
      assertEquals(TaskState.NEW, c.state(), "a refused task is not accepted");
      QueueStats s = queue.stats();
      assertEquals(2, s.submitted());
      assertEquals(1, s.rejected());
      assertEquals(2, s.ready());
      assertEquals(1, listener.reasons.size(), () -> "rejections: " + listener.reasons);
      assertTrue(listener.reasons.get(0).contains("full"), listener.reasons.get(0));

      queue.shutdown(); // starts the queue and drains what was accepted
      assertEquals("a", a.await(GENEROUS));
      assertEquals("b", b.await(GENEROUS));
      QueueStats end = queue.stats();
      assertEquals(2, end.succeeded());
      assertEquals(0, end.outstanding());
      assertEquals(1, end.rejected());
    } finally {
      queue.shutdownNow();
    }
  }

  @Test
  void offerWithTimeoutWaitsAndSucceedsWhenRoomFrees() throws Exception {
    WorkQueue queue = WorkQueue.builder("cap-offer-wait").capacity(1).build();
    try {
      assertTrue(queue.offer(named("first")));
      Task<String> second = named("second");
      Producer<Boolean> p = producer("offer-waiter", () -> queue.offer(second, GENEROUS));
      awaitState(p.thread(), Thread.State.TIMED_WAITING);
      assertFalse(p.outcome().isDone(), "offer(task, timeout) waits while full");
      assertEquals(TaskState.NEW, second.state());
      assertEquals(1, queue.stats().submitted());

      queue.start(); // the dispatcher takes "first": room frees
      assertEquals(Boolean.TRUE, p.get(), "offer(task, timeout) succeeds once room frees");
      assertEquals("second", second.await(GENEROUS));
      assertEquals(0, queue.stats().rejected());
    } finally {
      queue.shutdown();
    }
  }

  @Test
  void offerWithTimeoutReturnsFalseWhenTheQueueStaysFull() throws Exception {
    Rejections listener = new Rejections();
    WorkQueue queue = WorkQueue.builder("cap-offer-expire").capacity(1).listener(listener).build();
    try {
      assertTrue(queue.offer(named("first")));
      Task<String> second = named("second");
      Duration timeout = Duration.ofMillis(50);
      long start = System.nanoTime();
      assertFalse(queue.offer(second, timeout), "the queue stayed full");
      long waited = System.nanoTime() - start;
      assertTrue(waited >= timeout.toNanos(), "offer returned before its timeout: " + waited + " ns");
      assertTrue(waited < GENEROUS.toNanos(), "offer waited far longer than its timeout");
      assertEquals(TaskState.NEW, second.state());
      assertEquals(1, queue.stats().rejected());
      assertEquals(1, listener.reasons.size());

      // The refused task was never enqueued, so it can still be enqueued once there is room.
      queue.start();
      assertTrue(queue.offer(second, GENEROUS));
      assertEquals("second", second.await(GENEROUS));
    } finally {
      queue.shutdown();
    }
  }

  @Test
  void enqueueBlocksWhileFullAndProceedsOnceTheQueueDrains() throws Exception {
    WorkQueue queue = WorkQueue.builder("cap-enqueue").capacity(1).build();
    try {
      Task<String> first = queue.enqueue(named("first"));
      Task<String> second = named("second");
      Producer<Task<String>> p = producer("enqueue-blocked", () -> queue.enqueue(second));
      awaitState(p.thread(), Thread.State.WAITING);
      assertFalse(p.outcome().isDone(), "enqueue waits for room");
      assertEquals(TaskState.NEW, second.state(), "not accepted while it waits");
      assertEquals(TaskState.READY, first.state());
      QueueStats s = queue.stats();
      assertEquals(1, s.submitted());
      assertEquals(1, s.ready());
      assertEquals(0, s.rejected(), "a waiting enqueue is not a rejection");

      queue.start();
      assertSame(second, p.get(), "enqueue returns its task once there is room");
      assertEquals("first", first.await(GENEROUS));
      assertEquals("second", second.await(GENEROUS));
      assertEquals(2, queue.stats().submitted());
      assertEquals(0, queue.stats().rejected());
    } finally {
      queue.shutdown();
    }
  }

  @Test
  void blockedEnqueueIsRejectedWhenTheQueueShutsDown() throws Exception {
    Rejections listener = new Rejections();
    WorkQueue queue = WorkQueue.builder("cap-shutdown").capacity(1).listener(listener).build();
    try {
      Task<String> first = queue.enqueue(named("first"));
      Task<String> second = named("second");
      Producer<Task<String>> p = producer("enqueue-until-shutdown", () -> queue.enqueue(second));
      awaitState(p.thread(), Thread.State.WAITING);

      queue.shutdown(); // stops accepting (wakes the producer), starts the queue, drains "first"
      Throwable thrown = p.failure();
      RejectedExecutionException rejected = assertInstanceOf(RejectedExecutionException.class, thrown);
      assertNotNull(rejected.getMessage());
      assertTrue(rejected.getMessage().contains("cap-shutdown"), rejected.getMessage());
      assertEquals(TaskState.NEW, second.state(), "the refused task was never accepted");
      assertEquals("first", first.await(GENEROUS), "what was accepted still runs");
      QueueStats s = queue.stats();
      assertEquals(1, s.submitted());
      assertEquals(1, s.rejected());
      assertEquals(1, s.succeeded());
      assertEquals(1, listener.reasons.size(), () -> "rejections: " + listener.reasons);
    } finally {
      queue.shutdownNow();
    }
  }

  @Test
  void interruptedEnqueueIsRejectedWithTheInterruptFlagSet() throws Exception {
    WorkQueue queue = WorkQueue.builder("cap-interrupt").capacity(1).build();
    try {
      queue.enqueue(named("first"));
      Task<String> second = named("second");
      CompletableFuture<Boolean> flagAfterwards = new CompletableFuture<>();
      Producer<Task<String>> p =
          producer(
              "enqueue-interrupted",
              () -> {
                try {
                  return queue.enqueue(second);
                } finally {
                  flagAfterwards.complete(Thread.currentThread().isInterrupted());
                }
              });
      awaitState(p.thread(), Thread.State.WAITING);
      p.thread().interrupt();

      Throwable thrown = p.failure();
      RejectedExecutionException rejected = assertInstanceOf(RejectedExecutionException.class, thrown);
      assertTrue(rejected.getMessage().contains("cap-interrupt"), rejected.getMessage());
      assertInstanceOf(InterruptedException.class, rejected.getCause());
      assertEquals(Boolean.TRUE, flagAfterwards.get(), "the interrupt status is set again");
      assertEquals(TaskState.NEW, second.state());
      assertEquals(1, queue.stats().submitted(), "the interrupted task was not accepted");
      assertFalse(queue.isShutdown(), "an interrupted producer does not shut the queue down");
    } finally {
      queue.shutdown();
    }
  }

  @Test
  void delayedTasksAreAcceptedWhileTheReadyQueueIsFull() throws Exception {
    WorkQueue queue = WorkQueue.builder("cap-delayed").capacity(1).build();
    try {
      Task<String> first = queue.enqueue(named("first"));
      assertFalse(queue.offer(named("refused")), "the ready queue is full");

      Task<String> later = named("later").delay(Duration.ofMillis(20));
      Task<String> muchLater = named("much-later").delay(Duration.ofHours(1));
      Task<String> notBefore =
          named("not-before").notBefore(Instant.now().plus(Duration.ofHours(1)));
      assertTrue(queue.offer(later), "a delayed task does not need room in the ready queue");
      assertTrue(queue.offer(notBefore), "nor does a task with a future not-before time");
      assertSame(muchLater, queue.enqueue(muchLater), "enqueue of a delayed task does not wait");

      QueueStats s = queue.stats();
      assertEquals(4, s.submitted());
      assertEquals(1, s.rejected());
      assertEquals(1, s.ready());
      assertTrue(s.waiting() >= 2, () -> "waiting: " + s);
      assertEquals(TaskState.WAITING, muchLater.state());
      assertEquals(TaskState.WAITING, notBefore.state());

      assertTrue(muchLater.cancel());
      assertTrue(notBefore.cancel());
      queue.start();
      assertEquals("first", first.await(GENEROUS));
      assertEquals("later", later.await(GENEROUS), "the delayed task ran after its delay");
      assertEquals(TaskState.CANCELLED, muchLater.state());
      assertEquals(TaskState.CANCELLED, notBefore.state());
    } finally {
      queue.shutdown();
    }
    QueueStats end = queue.stats();
    assertEquals(2, end.succeeded());
    assertEquals(2, end.cancelled());
    assertEquals(0, end.outstanding());
  }

  @Test
  void immediateRetriesAreNeverRefusedByCapacity() throws Exception {
    Rejections listener = new Rejections();
    CountDownLatch failNow = new CountDownLatch(1);
    CountDownLatch holdBlocker = new CountDownLatch(1);
    CountDownLatch blockerRunning = new CountDownLatch(1);
    WorkQueue queue =
        WorkQueue.builder("cap-retry-now").concurrency(1).capacity(1).listener(listener).build();
    try {
      queue.start();
      CountDownLatch flakyRunning = new CountDownLatch(1);
      Task<String> flaky =
          queue.enqueue(
              Task.ofJob(
                      ctx -> {
                        if (ctx.attempt() == 1) {
                          flakyRunning.countDown();
                          failNow.await();
                          throw new IllegalStateException("first attempt fails");
                        }
                        return "retried";
                      })
                  .named("flaky")
                  .retries(1)
                  .backoff(Backoff.none()));
      assertTrue(flakyRunning.await(GENEROUS.toSeconds(), TimeUnit.SECONDS));
      Task<String> blocker =
          queue.enqueue(
              Task.ofJob(
                      ctx -> {
                        blockerRunning.countDown();
                        holdBlocker.await();
                        return "blocker";
                      })
                  .named("blocker"));
      // The one permit is held by "flaky", the one ready slot by "blocker": full.
      Task<String> late = named("late");
      Producer<Task<String>> p = producer("enqueue-late", () -> queue.enqueue(late));
      awaitState(p.thread(), Thread.State.WAITING);

      failNow.countDown(); // flaky fails: its retry goes to the ready queue although it is full
      assertTrue(blockerRunning.await(GENEROUS.toSeconds(), TimeUnit.SECONDS));
      // "blocker" holds the permit now; the retry holds the ready slot, so "late" still waits.
      awaitCondition("flaky is ready again", () -> flaky.state() == TaskState.READY);
      assertEquals(1, flaky.attempts());
      awaitState(p.thread(), Thread.State.WAITING);
      assertEquals(TaskState.NEW, late.state(), "the retry took the slot; the producer waits");
      assertEquals(1, queue.stats().ready());

      holdBlocker.countDown();
      assertEquals("retried", flaky.await(GENEROUS));
      assertEquals(2, flaky.attempts());
      assertSame(late, p.get());
      assertEquals("late", late.await(GENEROUS));
      assertEquals("blocker", blocker.await(GENEROUS));
      assertEquals(0, queue.stats().rejected());
      assertTrue(listener.retried.await(GENEROUS.toSeconds(), TimeUnit.SECONDS), "retry reported");
      assertEquals(1, listener.retries.get());
      assertTrue(listener.reasons.isEmpty(), () -> "rejections: " + listener.reasons);
    } finally {
      failNow.countDown();
      holdBlocker.countDown();
      queue.shutdown();
    }
  }

  @Test
  void backedOffRetriesAreNeverRefusedByCapacity() throws Exception {
    Rejections listener = new Rejections();
    CountDownLatch holdBlocker = new CountDownLatch(1);
    CountDownLatch failNow = new CountDownLatch(1);
    CountDownLatch blockerRunning = new CountDownLatch(1);
    WorkQueue queue =
        WorkQueue.builder("cap-retry-later").concurrency(1).capacity(1).listener(listener).build();
    try {
      queue.start();
      CountDownLatch flakyRunning = new CountDownLatch(1);
      Task<String> flaky =
          queue.enqueue(
              Task.ofJob(
                      ctx -> {
                        if (ctx.attempt() == 1) {
                          flakyRunning.countDown();
                          failNow.await();
                          throw new IllegalStateException("first attempt fails");
                        }
                        return "retried";
                      })
                  .named("flaky")
                  .retries(1)
                  .backoff(Backoff.fixed(Duration.ofMillis(30))));
      assertTrue(flakyRunning.await(GENEROUS.toSeconds(), TimeUnit.SECONDS));
      Task<String> blocker =
          queue.enqueue(
              Task.ofJob(
                      ctx -> {
                        blockerRunning.countDown();
                        holdBlocker.await();
                        return "blocker";
                      })
                  .named("blocker"));
      Task<String> filler = named("filler");
      Producer<Task<String>> p = producer("enqueue-filler", () -> queue.enqueue(filler));
      awaitState(p.thread(), Thread.State.WAITING);

      failNow.countDown(); // flaky fails and waits out its backoff; blocker takes the permit
      assertTrue(blockerRunning.await(GENEROUS.toSeconds(), TimeUnit.SECONDS));
      // Whenever the backoff ends, the retry enters the ready queue whatever its fill.
      awaitCondition("flaky is ready again", () -> flaky.state() == TaskState.READY);
      assertEquals(1, flaky.attempts());
      // Either filler got the slot "blocker" left before flaky's retry arrived (2 ready, over the
      // capacity of 1), or flaky's retry arrived first and filler still waits (1 ready).
      awaitCondition(
          "filler accepted, or its producer waiting again",
          () ->
              filler.state() == TaskState.READY
                  || (filler.state() == TaskState.NEW
                      && p.thread().getState() == Thread.State.WAITING));
      QueueStats s = queue.stats();
      if (filler.state() == TaskState.READY) {
        assertEquals(2, s.ready(), () -> "retry admitted over capacity: " + s);
      } else {
        assertEquals(1, s.ready(), () -> "retry took the last slot: " + s);
      }
      assertEquals(0, s.rejected());

      holdBlocker.countDown();
      assertEquals("retried", flaky.await(GENEROUS));
      assertSame(filler, p.get());
      assertEquals("filler", filler.await(GENEROUS));
      assertEquals("blocker", blocker.await(GENEROUS));
      assertTrue(listener.retried.await(GENEROUS.toSeconds(), TimeUnit.SECONDS), "retry reported");
      assertEquals(1, listener.retries.get());
      assertTrue(listener.reasons.isEmpty(), () -> "rejections: " + listener.reasons);
    } finally {
      failNow.countDown();
      holdBlocker.countDown();
      queue.shutdown();
    }
  }
}
