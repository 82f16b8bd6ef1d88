package dev.loomwork;

import static dev.loomwork.QueueFixture.awaitCondition;
import static dev.loomwork.QueueFixture.awaitState;
import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.QueueFixture.Background;
import dev.loomwork.QueueFixture.Blocker;
import dev.loomwork.RecordingListener.Rejected;
import dev.loomwork.RecordingListener.RetryScheduled;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The ready queue's capacity: offers refused, producers blocked, and what never needs room. */
class CapacityTest {
  @RegisterExtension final QueueFixture fx = new QueueFixture();

  private static Task<String> named(String name) {
    return Task.ofJob(ctx -> ctx.taskName()).named(name);
  }

  /** Each refusal the listener saw, as "task: reason". */
  private static List<String> reasons(RecordingListener events) {
    return events.events(Rejected.class).stream().map(r -> r.task().name() + ": " + r.reason()).toList();
  }

  @Nested
  class Offer {
    @Test
    void offerReturnsFalseWhenTheReadyQueueIsFull() throws Exception {
      RecordingListener events = new RecordingListener();
      WorkQueue queue = fx.unstarted(WorkQueue.builder("cap-offer").capacity(2).listener(events));
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
      List<String> reasons = reasons(events);
      assertEquals(1, reasons.size(), () -> "rejections: " + reasons);
      assertTrue(reasons.get(0).contains("full"), reasons.get(0));

      queue.shutdown(); // starts the queue and drains what was accepted
      assertEquals("a", a.await(GENEROUS));
      assertEquals("b", b.await(GENEROUS));
      QueueStats end = queue.stats();
      assertEquals(2, end.succeeded());
      assertEquals(0, end.outstanding());
      assertEquals(1, end.rejected());
    }

    @Test
    void offerWithTimeoutWaitsAndSucceedsWhenRoomFrees() throws Exception {
      WorkQueue queue = fx.unstarted(WorkQueue.builder("cap-offer-wait").capacity(1));
      assertTrue(queue.offer(named("first")));
      Task<String> second = named("second");
      Background<Boolean> p = fx.inBackground("offer-waiter", () -> queue.offer(second, GENEROUS));
      awaitState(p.thread(), Thread.State.TIMED_WAITING);
      assertFalse(p.isDone(), "offer(task, timeout) waits while full");
      assertEquals(TaskState.NEW, second.state());
      assertEquals(1, queue.stats().submitted());

      queue.start(); // the dispatcher takes "first": room frees
      assertEquals(Boolean.TRUE, p.get(), "offer(task, timeout) succeeds once room frees");
      assertEquals("second", second.await(GENEROUS));
      assertEquals(0, queue.stats().rejected());
    }

    @Test
    void offerWithTimeoutReturnsFalseWhenTheQueueStaysFull() throws Exception {
      RecordingListener events = new RecordingListener();
      WorkQueue queue = fx.unstarted(WorkQueue.builder("cap-offer-expire").capacity(1).listener(events));
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
      assertEquals(1, reasons(events).size());

      // The refused task was never enqueued, so it can still be enqueued once there is room.
      queue.start();
      assertTrue(queue.offer(second, GENEROUS));
      assertEquals("second", second.await(GENEROUS));
    }
  }

  @Nested
  class BlockingEnqueue {
    @Test
    void enqueueBlocksWhileFullAndProceedsOnceTheQueueDrains() throws Exception {
      WorkQueue queue = fx.unstarted(WorkQueue.builder("cap-enqueue").capacity(1));
      Task<String> first = queue.enqueue(named("first"));
      Task<String> second = named("second");
      Background<Task<String>> p = fx.inBackground("enqueue-blocked", () -> queue.enqueue(second));
      awaitState(p.thread(), Thread.State.WAITING);
      assertFalse(p.isDone(), "enqueue waits for room");
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
    }

    @Test
    void blockedEnqueueIsRejectedWhenTheQueueShutsDown() throws Exception {
      RecordingListener events = new RecordingListener();
      WorkQueue queue = fx.unstarted(WorkQueue.builder("cap-shutdown").capacity(1).listener(events));
      Task<String> first = queue.enqueue(named("first"));
      Task<String> second = named("second");
      Background<Task<String>> p = fx.inBackground("enqueue-until-shutdown", () -> queue.enqueue(second));
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
      List<String> reasons = reasons(events);
      assertEquals(1, reasons.size(), () -> "rejections: " + reasons);
    }

    @Test
    void interruptedEnqueueIsRejectedWithTheInterruptFlagSet() throws Exception {
      WorkQueue queue = fx.unstarted(WorkQueue.builder("cap-interrupt").capacity(1));
      queue.enqueue(named("first"));
      Task<String> second = named("second");
      CompletableFuture<Boolean> flagAfterwards = new CompletableFuture<>();
      Background<Task<String>> p =
          fx.inBackground(
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
      assertEquals(0, queue.stats().rejected(), "a producer that gave up waiting was not refused");
      assertFalse(queue.isShutdown(), "an interrupted producer does not shut the queue down");
    }
  }

  /** What never needs room in the ready queue: tasks that start later, and retries. */
  @Nested
  class Bypass {
    @Test
    void delayedTasksAreAcceptedWhileTheReadyQueueIsFull() throws Exception {
      WorkQueue queue = fx.unstarted(WorkQueue.builder("cap-delayed").capacity(1));
      Task<String> first = queue.enqueue(named("first"));
      assertFalse(queue.offer(named("refused")), "the ready queue is full");

      Task<String> later = named("later").delay(Duration.ofMillis(20));
      Task<String> muchLater = named("much-later").delay(Duration.ofHours(1));
      Task<String> notBefore = named("not-before").notBefore(Instant.now().plus(Duration.ofHours(1)));
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
      queue.shutdown();
      QueueStats end = queue.stats();
      assertEquals(2, end.succeeded());
      assertEquals(2, end.cancelled());
      assertEquals(0, end.outstanding());
    }

    /** When a failed attempt's retry comes back to the ready queue. */
    enum RetryTiming {
      IMMEDIATE(Backoff.none()),
      BACKED_OFF(Backoff.fixed(Duration.ofMillis(30)));

      final Backoff backoff;

      RetryTiming(Backoff backoff) {
        this.backoff = backoff;
      }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource
    void retriesAreNeverRefusedByCapacity(RetryTiming timing) throws Exception {
      RecordingListener events = new RecordingListener();
      WorkQueue queue =
          fx.started(WorkQueue.builder("cap-retry-" + timing).concurrency(1).capacity(1).listener(events));
      Blocker firstAttempt = fx.blocker(); // released, the first attempt of "flaky" fails
      Task<String> flaky =
          queue.enqueue(
              Task.ofJob(
                      ctx -> {
                        if (ctx.attempt() == 1) {
                          firstAttempt.block();
                          throw new IllegalStateException("first attempt fails");
                        }
                        return "retried";
                      })
                  .named("flaky")
                  .retries(1)
                  .backoff(timing.backoff));
      firstAttempt.awaitStarted();
      Blocker held = fx.blocker();
      Task<String> blocker = queue.enqueue(Task.ofJob(held.job("blocker")).named("blocker"));
      // The one permit is held by "flaky", the one ready slot by "blocker": full.
      Task<String> late = named("late");
      Background<Task<String>> p = fx.inBackground("enqueue-late", () -> queue.enqueue(late));
      awaitState(p.thread(), Thread.State.WAITING);

      firstAttempt.release(); // flaky fails; "blocker" takes the permit
      held.awaitStarted();
      // Its retry enters the ready queue (at once, or when its backoff ends) although it is full.
      awaitCondition("flaky is ready again", () -> flaky.state() == TaskState.READY);
      assertEquals(1, flaky.attempts());
      if (timing == RetryTiming.IMMEDIATE) {
        assertTheRetryTookTheSlot(queue, late, p);
      } else {
        assertTheRetryWasAdmittedWhateverTheFill(queue, late, p);
      }

      held.release();
      assertEquals("retried", flaky.await(GENEROUS));
      assertEquals(2, flaky.attempts());
      assertSame(late, p.get());
      assertEquals("late", late.await(GENEROUS));
      assertEquals("blocker", blocker.await(GENEROUS));
      assertEquals(0, queue.stats().rejected());
      events.awaitFirst(RetryScheduled.class); // the retry is reported
      assertEquals(1, events.events(RetryScheduled.class).size());
      List<String> reasons = reasons(events);
      assertTrue(reasons.isEmpty(), () -> "rejections: " + reasons);
    }

    /** An immediate retry arrived while "blocker" was taking the permit: it holds the ready slot. */
    private static void assertTheRetryTookTheSlot(WorkQueue queue, Task<String> late, Background<?> p) {
      awaitState(p.thread(), Thread.State.WAITING);
      assertEquals(TaskState.NEW, late.state(), "the retry took the slot; the producer waits");
      assertEquals(1, queue.stats().ready());
    }

    /**
     * Whenever a backed-off retry arrives, it is admitted whatever the fill: either "late" got the
     * slot "blocker" left before the retry arrived (2 ready, over the capacity of 1), or the retry
     * arrived first and "late" still waits (1 ready).
     */
    private static void assertTheRetryWasAdmittedWhateverTheFill(
        WorkQueue queue, Task<String> late, Background<?> p) {
      awaitCondition(
          "late accepted, or its producer waiting again",
          () ->
              late.state() == TaskState.READY
                  || (late.state() == TaskState.NEW && p.thread().getState() == Thread.State.WAITING));
      QueueStats s = queue.stats();
      if (late.state() == TaskState.READY) {
        assertEquals(2, s.ready(), () -> "retry admitted over capacity: " + s);
      } else {
        assertEquals(1, s.ready(), () -> "retry took the last slot: " + s);
      }
      assertEquals(0, s.rejected());
    }
  }
}
