package dev.loomwork;

import static dev.loomwork.QueueFixture.await;
import static dev.loomwork.QueueFixture.get;
import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TaskContextTest {
  @RegisterExtension final QueueFixture fx = new QueueFixture();

  /** What one attempt saw of its context. */
  record Seen(
      boolean sameAsParameter,
      boolean bound,
      String queueName,
      String taskName,
      int attempt,
      Instant deadline,
      boolean cancelled) {}

  @Test
  void currentIsTheParameterWithNamesAttemptAndDeadline() throws Exception {
    List<Seen> seen = new CopyOnWriteArrayList<>();
    WorkQueue queue = fx.started(WorkQueue.builder("ctx-queue"));
    Task<String> task =
        Task.ofJob(
                ctx -> {
                  TaskContext current = TaskContext.current();
                  seen.add(
                      new Seen(
                          current == ctx,
                          TaskContext.isBound(),
                          current.queueName(),
                          current.taskName(),
                          current.attempt(),
                          current.deadline(),
                          current.isCancelled()));
                  if (ctx.attempt() < 3) {
                    throw new IllegalStateException("fail attempt " + ctx.attempt());
                  }
                  return "done on " + ctx.attempt();
                })
            .named("alpha")
            .retries(2)
            .backoff(Backoff.fixed(Duration.ofMillis(1)))
            .within(Duration.ofMinutes(10));
    Instant before = Instant.now();
    queue.enqueue(task);
    Instant after = Instant.now();

    assertEquals("done on 3", task.await(GENEROUS));
    assertEquals(3, task.attempts());
    assertEquals(3, seen.size(), () -> "attempts seen: " + seen);
    for (int i = 0; i < 3; i++) {
      Seen s = seen.get(i);
      assertTrue(s.sameAsParameter(), "TaskContext.current() is the body's parameter");
      assertTrue(s.bound(), "TaskContext.isBound() inside the body");
      assertEquals("ctx-queue", s.queueName());
      assertEquals("alpha", s.taskName());
      assertEquals(i + 1, s.attempt(), "attempt numbers count 1, 2, 3 across retries");
      assertFalse(s.cancelled(), "isCancelled() of an attempt nobody cut");
      assertNotNull(s.deadline(), "deadline set with within(...)");
      Instant d = s.deadline();
      assertFalse(
          d.isBefore(before.plus(Duration.ofMinutes(10))),
          () -> "deadline " + d + " is before enqueue time " + before + " + 10 min");
      assertFalse(
          d.isAfter(after.plus(Duration.ofMinutes(10))),
          () -> "deadline " + d + " is after enqueue time " + after + " + 10 min");
    }
    assertEquals(seen.get(0).deadline(), seen.get(2).deadline(), "one deadline per task");
  }

  @Test
  void eachAttemptGetsItsOwnContextAndNoDeadlineByDefault() throws Exception {
    List<TaskContext> contexts = new CopyOnWriteArrayList<>();
    WorkQueue queue = fx.started(WorkQueue.builder("ctx-default"));
    Task<Void> task =
        queue.enqueue(
            Task.of(
                    ctx -> {
                      contexts.add(TaskContext.current());
                      assertNull(ctx.deadline(), "no within(...): no deadline");
                      if (ctx.attempt() == 1) {
                        throw new java.io.IOException("first attempt fails");
                      }
                    })
                .retries(1)
                .backoff(Backoff.none()));
    task.await(GENEROUS);
    assertEquals(TaskState.SUCCEEDED, task.state());
    assertEquals(2, contexts.size());
    assertEquals(1, contexts.get(0).attempt());
    assertEquals(2, contexts.get(1).attempt());
    assertTrue(contexts.get(0).taskName().startsWith("task-"), contexts.get(0).taskName());
    assertEquals(task.name(), contexts.get(1).taskName());
  }

  /** A body that polls {@code isCancelled()} instead of blocking, then returns normally. */
  static final class Poller {
    final CountDownLatch started = new CountDownLatch(1);
    final AtomicReference<Boolean> cancelledAtStart = new AtomicReference<>();
    final AtomicBoolean sawCancelled = new AtomicBoolean();
    final AtomicBoolean sawInterrupt = new AtomicBoolean();
    final AtomicInteger calls = new AtomicInteger();

    Task<String> task() {
      return Task.ofJob(
          ctx -> {
            calls.incrementAndGet();
            cancelledAtStart.set(ctx.isCancelled());
            started.countDown();
            long giveUp = System.nanoTime() + GENEROUS.toNanos();
            while (!TaskContext.current().isCancelled() && System.nanoTime() < giveUp) {
              Thread.onSpinWait();
            }
            sawCancelled.set(ctx.isCancelled());
            sawInterrupt.set(Thread.currentThread().isInterrupted());
            return "returned normally";
          });
    }
  }

  /** Waits for the task to end, whatever its outcome. */
  private static void awaitEnd(Task<?> task) throws Exception {
    try {
      get(task.future());
    } catch (ExecutionException | CancellationException expected) {
      // the outcome is checked by the caller
    }
    assertTrue(task.isDone(), () -> "not done: " + task);
  }

  @Test
  void isCancelledBecomesTrueWhenARunningAttemptIsCancelled() throws Exception {
    Poller poller = new Poller();
    WorkQueue queue = fx.started(WorkQueue.builder("ctx-cancel"));
    Task<String> task =
        queue.enqueue(poller.task().named("poller").retries(3).backoff(Backoff.none()));
    await(poller.started, "body started");
    assertEquals(Boolean.FALSE, poller.cancelledAtStart.get(), "not cancelled at the start");
    assertTrue(task.cancel(), "cancel() of a running task asks it to stop");
    awaitEnd(task);
    assertTrue(poller.sawCancelled.get(), "isCancelled() turned true after the attempt was cut");
    assertEquals(1, poller.calls.get(), "a cancelled running task is not retried");
    assertEquals(1, task.attempts());
  }

  @Test
  void isCancelledBecomesTrueAtTheAttemptTimeout() throws Exception {
    Poller poller = new Poller();
    WorkQueue queue = fx.started(WorkQueue.builder("ctx-timeout"));
    Task<String> task =
        queue.enqueue(poller.task().retries(0).attemptTimeout(Duration.ofMillis(20)));
    awaitEnd(task);
    assertEquals(Boolean.FALSE, poller.cancelledAtStart.get(), "not cancelled at the start");
    assertTrue(poller.sawCancelled.get(), "isCancelled() turned true at the attempt timeout");
    assertEquals(1, poller.calls.get(), "retries(0): one attempt");
  }

  // The three tests below check what happens to a task whose body, as TaskContext#isCancelled()
  // advises, notices the cut and returns normally: the cut came first, so the task must not succeed.
  // Regression tests: QueueEngine.finish once counted any normal return as a success (always so in
  // the virtual-thread runner, where the body runs on the attempt thread; by a race in the
  // structured runner, where the body's subtask may complete before join sees the interrupt).

  @Test
  void pollingBodyThatReturnsAfterCancelEndsCancelled() throws Exception {
    Poller poller = new Poller();
    WorkQueue queue = fx.started(WorkQueue.builder("ctx-cancel-outcome"));
    Task<String> task = queue.enqueue(poller.task().named("poller").retries(0));
    await(poller.started, "body started");
    assertTrue(task.cancel());
    awaitEnd(task);
    assertTrue(poller.sawCancelled.get());
    assertEquals(
        TaskState.CANCELLED,
        task.state(),
        "the cut (cancel) came before the body returned, so the task is cancelled, not succeeded");
    assertThrows(CancellationException.class, () -> task.await(Duration.ofSeconds(1)));
  }

  @Test
  void pollingBodyThatReturnsAfterTimeoutFailsWithTimeout() throws Exception {
    Poller poller = new Poller();
    WorkQueue queue = fx.started(WorkQueue.builder("ctx-timeout-outcome"));
    Task<String> task =
        queue.enqueue(poller.task().retries(0).attemptTimeout(Duration.ofMillis(20)));
    awaitEnd(task);
    assertTrue(poller.sawCancelled.get());
    assertEquals(
        TaskState.FAILED,
        task.state(),
        "DESIGN 4: an attempt cut at its timeout fails with a timeout error");
    assertInstanceOf(AttemptTimeoutException.class, task.error());
    TaskFailedException failed =
        assertThrows(TaskFailedException.class, () -> task.await(Duration.ofSeconds(1)));
    assertInstanceOf(AttemptTimeoutException.class, failed.getCause());
  }

  @Test
  void pollingBodyThatReturnsAfterTheDeadlineFailsWithDeadlineExceeded() throws Exception {
    Poller poller = new Poller();
    WorkQueue queue = fx.started(WorkQueue.builder("ctx-deadline-outcome"));
    Task<String> task = queue.enqueue(poller.task().retries(0).within(Duration.ofSeconds(2)));
    awaitEnd(task);
    assertTrue(poller.sawCancelled.get(), "isCancelled() turned true at the deadline");
    assertEquals(
        TaskState.FAILED,
        task.state(),
        "DESIGN 4: a running attempt is cut at the deadline and the task fails with a deadline error");
    assertInstanceOf(DeadlineExceededException.class, task.error());
  }

  @Test
  void currentOutsideATaskThrowsWithAClearMessage() throws Exception {
    assertFalse(TaskContext.isBound(), "not bound on the test thread");
    IllegalStateException e = assertThrows(IllegalStateException.class, TaskContext::current);
    assertNotNull(e.getMessage());
    assertTrue(e.getMessage().contains("TaskContext.current()"), e.getMessage());
    assertTrue(e.getMessage().contains("not running a loomwork task attempt"), e.getMessage());

    // Nor on a plain virtual thread, nor after an attempt ended (the binding does not leak).
    AtomicReference<Boolean> boundElsewhere = new AtomicReference<>();
    Thread.ofVirtual().start(() -> boundElsewhere.set(TaskContext.isBound())).join();
    assertEquals(Boolean.FALSE, boundElsewhere.get());

    WorkQueue queue = fx.started(WorkQueue.builder("ctx-outside"));
    Task<Boolean> task = queue.enqueue(Task.ofJob(ctx -> TaskContext.isBound()));
    assertEquals(Boolean.TRUE, task.await(GENEROUS));
    assertFalse(TaskContext.isBound());
    assertThrows(IllegalStateException.class, TaskContext::current);
  }
}
