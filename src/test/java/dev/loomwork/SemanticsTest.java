package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static dev.loomwork.QueueFixture.NO_BACKOFF;
import static dev.loomwork.QueueFixture.failureOf;
import static dev.loomwork.QueueFixture.get;
import static dev.loomwork.TestTimeouts.GENEROUS;

import dev.loomwork.QueueFixture.Blocker;
import dev.loomwork.RecordingListener.RetryScheduled;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One nested class per row of the semantics table (DESIGN.md section 4), run once per {@link
 * TaskKind}: closures, and typed tasks whose handler runs the same bodies. Every queue is built
 * through {@code tasks.builder}, so both kinds run on the same queue.
 *
 * <p>A typed task has no result. Where a closure's body returns one ({@link Task#ofJob}), the typed
 * run checks that {@code await()} returns null and what the body returned ({@link
 * TaskKind.Tasks#awaitResult}).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(TaskKind.class)
class SemanticsTest {
  @RegisterExtension final QueueFixture fx = new QueueFixture();

  /**
   * Says which kind failed: Surefire reports a test by its method name, the same for both kinds
   * (and lists the second kind's failure as "Run 2", as if it were a rerun).
   */
  @RegisterExtension final TestExecutionExceptionHandler nameTheKind;

  private final TaskKind kind;
  private final TaskKind.Tasks tasks;

  SemanticsTest(TaskKind kind) {
    this.kind = kind;
    this.tasks = kind.tasks();
    this.nameTheKind =
        (context, failure) -> {
          if (failure instanceof AssertionError) {
            throw new AssertionError(kind + " tasks: " + failure.getMessage(), failure);
          }
          failure.addSuppressed(new Exception("the test ran " + kind + " tasks"));
          throw failure;
        };
  }

  private WorkQueue started() {
    return fx.started(tasks.builder("semantics").retryPolicy(NO_BACKOFF));
  }

  @Nested
  class Retries {
    @Test
    void retriesNMeansAtMostNPlusOneAttemptsAndErrorIsTheLastRealFailure() throws Exception {
      WorkQueue q = started();
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> {
                    throw new IllegalStateException("fail " + ctx.attempt());
                  })
                  .retries(2));
      Throwable error = failureOf(task);
      assertEquals(3, task.attempts());
      assertInstanceOf(IllegalStateException.class, error);
      assertEquals("fail 3", error.getMessage());
      tasks.assertEncodedOnceAndDecodedPerAttempt(task);
    }

    @Test
    void retriesZeroRunsOnce() {
      WorkQueue q = started();
      AtomicInteger calls = new AtomicInteger();
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> {
                    calls.incrementAndGet();
                    throw new IllegalStateException("once");
                  })
                  .retries(0));
      failureOf(task);
      assertEquals(1, calls.get());
      assertEquals(1, task.attempts());
      tasks.assertEncodedOnceAndDecodedPerAttempt(task);
    }

    @Test
    void succeedsOnARetryWithTheResult() throws Exception {
      WorkQueue q = started();
      Task<?> task =
          q.enqueue(
              tasks.ofJob(ctx -> {
                    if (ctx.attempt() < 3) {
                      throw new java.io.IOException("flaky");
                    }
                    return "done on " + ctx.attempt();
                  })
                  .retries(5));
      assertEquals("done on 3", tasks.awaitResult(task));
      assertEquals(TaskState.SUCCEEDED, task.state());
      assertInstanceOf(java.io.IOException.class, task.error(), "error() keeps the last failure");
      assertEquals(tasks.taskResult("done on 3"), get(task.future()));
      tasks.assertEncodedOnceAndDecodedPerAttempt(task);
    }

    @Test
    void negativeRetriesAreRejectedWithTheParameterNamed() {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> tasks.of(ctx -> {}).retries(-2));
      assertEquals("retries: -2 (expected: >= 0)", e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> RetryPolicy.defaults().withRetries(-1));
    }

    @Test
    void theQueueDefaultPolicyAppliesToTasksThatSetNone() {
      WorkQueue q =
          fx.started(
              tasks.builder("default-policy")
                  .retryPolicy(RetryPolicy.defaults().withRetries(1).withBackoff(Backoff.none())));
      Task<?> task =
          tasks.submit(q, ctx -> {
            throw new IllegalStateException("x");
          });
      failureOf(task);
      assertEquals(2, task.attempts());
    }
  }

  @Nested
  class NotRetryable {
    @Test
    void nonRetryableExceptionEndsTheTaskAtOnceWithoutTheBackoffWait() {
      WorkQueue q = started();
      NonRetryableException thrown = new NonRetryableException("bad address");
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> {
                    throw thrown;
                  })
                  .retries(5)
                  .backoff(Backoff.fixed(Duration.ofHours(1))));
      // If the task waited out the backoff, this would time out.
      assertSame(thrown, failureOf(task));
      assertEquals(1, task.attempts());
      assertNull(task.nextAttemptAt());
    }

    @Test
    void aRetryIfPredicateThatRefusesEndsTheTaskAtOnce() {
      WorkQueue q = started();
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> {
                    throw new IllegalArgumentException("permanent");
                  })
                  .retryPolicy(
                      RetryPolicy.defaults()
                          .withRetries(5)
                          .withBackoff(Backoff.fixed(Duration.ofHours(1)))
                          .withRetryIf(e -> !(e instanceof IllegalArgumentException))));
      assertInstanceOf(IllegalArgumentException.class, failureOf(task));
      assertEquals(1, task.attempts());
    }

    @Test
    void errorsAreNotRetriedByDefault() {
      WorkQueue q = started();
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> {
                    throw new AssertionError("bug");
                  })
                  .retries(3));
      assertInstanceOf(AssertionError.class, failureOf(task));
      assertEquals(1, task.attempts());
    }

    @Test
    void aThrowingRetryIfPredicateCountsAsNotRetryable() {
      WorkQueue q = started();
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> {
                    throw new IllegalStateException("x");
                  })
                  .retryPolicy(
                      RetryPolicy.defaults()
                          .withRetries(3)
                          .withRetryIf(e -> {
                            throw new UnsupportedOperationException("predicate bug");
                          })));
      assertInstanceOf(IllegalStateException.class, failureOf(task));
      assertEquals(1, task.attempts());
    }
  }

  @Nested
  class BackoffFunction {
    @Test
    void exponentialWithoutJitterDoublesUpToTheCap() {
      Backoff b = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(1)).withoutJitter();
      var random = new java.util.SplittableRandom(1);
      long[] expected = {100, 200, 400, 800, 1000, 1000, 1000};
      for (int retry = 1; retry <= expected.length; retry++) {
        assertEquals(Duration.ofMillis(expected[retry - 1]), b.delay(retry, random), "retry " + retry);
      }
      assertEquals(Duration.ofSeconds(1), b.delay(Integer.MAX_VALUE, random), "no overflow");
    }

    @Test
    void jitterStaysWithinItsEnvelopeAndTheCapHoldsAfterJitter() {
      Backoff b =
          Backoff.exponential(Duration.ofMillis(100), Duration.ofMillis(700)).withFactor(3).withJitter(0.5);
      var random = new java.util.SplittableRandom(42);
      for (int i = 0; i < 10_000; i++) {
        int retry = 1 + i % 6;
        double base = 100.0 * Math.pow(3, retry - 1);
        Duration d = b.delay(retry, random);
        double ms = d.toNanos() / 1e6;
        assertTrue(ms >= Math.min(700, base * 0.5) - 1e-6, () -> "retry " + retry + ": " + d);
        assertTrue(ms <= Math.min(700, base * 1.5) + 1e-6, () -> "retry " + retry + ": " + d);
      }
    }

    @Test
    void theDelayIsAPureFunctionOfRetryAndRandom() {
      Backoff b = Backoff.exponential(Duration.ofMillis(10), Duration.ofSeconds(10));
      var r1 = new java.util.SplittableRandom(7);
      var r2 = new java.util.SplittableRandom(7);
      for (int retry = 1; retry < 20; retry++) {
        assertEquals(b.delay(retry, r1), b.delay(retry, r2));
      }
    }

    @Test
    void badBackoffsNameTheParameter() {
      assertEquals(
          "factor: 0.5 (expected: finite and >= 1)",
          assertThrows(IllegalArgumentException.class,
                  () -> Backoff.exponential(Duration.ZERO, Duration.ZERO).withFactor(0.5))
              .getMessage());
      assertEquals(
          "jitter: 1.5 (expected: in [0, 1])",
          assertThrows(IllegalArgumentException.class,
                  () -> Backoff.exponential(Duration.ZERO, Duration.ZERO).withJitter(1.5))
              .getMessage());
      assertTrue(
          assertThrows(IllegalArgumentException.class,
                  () -> Backoff.exponential(Duration.ofSeconds(2), Duration.ofSeconds(1)))
              .getMessage()
              .startsWith("max: PT1S (expected: >= initial"));
      assertThrows(IllegalArgumentException.class, () -> Backoff.fixed(Duration.ofMillis(-1)));
      assertThrows(IllegalArgumentException.class, () -> Backoff.none().delay(0, new java.util.SplittableRandom()));
      assertEquals("delay", assertThrows(NullPointerException.class, () -> Backoff.fixed(null)).getMessage());
    }

    @Test
    void aRetryWaitsItsBackoffInTheSchedulerAndReportsNextAttemptAt() throws Exception {
      Instant t0 = Instant.parse("2030-01-01T00:00:00Z");
      RecordingListener events = new RecordingListener();
      WorkQueue q = fx.started(tasks.builder("backoff").clock(InstantSource.fixed(t0)).listener(events));
      Task<?> task =
          q.enqueue(
              tasks.ofJob(ctx -> {
                    if (ctx.attempt() == 1) {
                      throw new IllegalStateException("first");
                    }
                    return "second";
                  })
                  .retries(1)
                  .backoff(Backoff.fixed(Duration.ofMillis(300))));
      // The retry time is computed from the (fixed) clock: exactly t0 + backoff.
      Instant at = events.awaitFirst(RetryScheduled.class).nextAttemptAt();
      assertEquals(t0.plusMillis(300), at);
      assertEquals("second", tasks.awaitResult(task));
      assertEquals(2, task.attempts());
      assertNull(task.nextAttemptAt(), "no next attempt once done");
    }
  }

  @Nested
  class AttemptTimeout {
    @Test
    void anAttemptPastItsTimeoutIsInterruptedAndFailsWithATimeoutThatIsRetried() throws Exception {
      WorkQueue q = started();
      Blocker never = fx.blocker();
      Task<?> task =
          q.enqueue(
              tasks.ofJob(ctx -> {
                    if (ctx.attempt() == 1) {
                      never.block();
                    }
                    return "second attempt";
                  })
                  .retries(1)
                  .attemptTimeout(Duration.ofMillis(50)));
      assertEquals("second attempt", tasks.awaitResult(task));
      assertEquals(1, never.interruptions(), "the body was interrupted");
      AttemptTimeoutException timeout = assertInstanceOf(AttemptTimeoutException.class, task.error());
      assertEquals(Duration.ofMillis(50), timeout.timeout());
      assertInstanceOf(InterruptedException.class, timeout.getSuppressed()[0]);
    }

    @Test
    void whenNoRetryIsLeftTheTaskFailsWithTheTimeout() {
      WorkQueue q = started();
      CountDownLatch never = fx.latch();
      Task<?> task =
          q.enqueue(tasks.of(ctx -> never.await()).retries(1).attemptTimeout(Duration.ofMillis(20)));
      Throwable error = failureOf(task);
      assertInstanceOf(AttemptTimeoutException.class, error);
      assertEquals(2, task.attempts());
      assertTrue(error.getMessage().contains("attempt 2"), error.getMessage());
    }

    @Test
    void thePolicyDecidesWhetherATimeoutIsRetried() {
      WorkQueue q = started();
      CountDownLatch never = fx.latch();
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> never.await())
                  .retryPolicy(
                      RetryPolicy.defaults()
                          .withRetries(3)
                          .withAttemptTimeout(Duration.ofMillis(20))
                          .withRetryIf(e -> !(e instanceof AttemptTimeoutException))));
      assertInstanceOf(AttemptTimeoutException.class, failureOf(task));
      assertEquals(1, task.attempts());
    }
  }

  @Nested
  class OverallDeadline {
    @Test
    void aRunningAttemptIsCutAtTheDeadlineAndTheTaskFailsWithoutRetry() {
      WorkQueue q = started();
      Blocker never = fx.blocker();
      Task<?> task = q.enqueue(tasks.of(never.work()).retries(5).within(Duration.ofMillis(100)));
      DeadlineExceededException e = assertInstanceOf(DeadlineExceededException.class, failureOf(task));
      assertEquals(1, task.attempts());
      assertEquals(1, never.interruptions());
      assertTrue(e.getMessage().contains(task.name()), e.getMessage());
    }

    @Test
    void noAttemptStartsAfterTheDeadline() throws Exception {
      WorkQueue q = fx.started(tasks.builder("deadline").concurrency(1));
      Blocker blocker = fx.blocker();
      tasks.submit(q, blocker.work());
      blocker.awaitStarted();
      AtomicInteger ran = new AtomicInteger();
      Task<?> late = q.enqueue(tasks.of(ctx -> ran.incrementAndGet()).within(Duration.ofMillis(50)));
      // The only slot is busy until after the deadline: the task must fail without starting.
      assertInstanceOf(DeadlineExceededException.class, failureOf(late));
      blocker.release();
      q.shutdown();
      assertEquals(0, ran.get());
      assertEquals(0, late.attempts());
    }

    @Test
    void aRetryThatWouldStartAfterTheDeadlineFailsNowWithTheLastFailureAsCause() {
      WorkQueue q = started();
      IllegalStateException real = new IllegalStateException("real");
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> {
                    throw real;
                  })
                  .retries(5)
                  .backoff(Backoff.fixed(Duration.ofHours(1)))
                  .within(Duration.ofMinutes(1)));
      DeadlineExceededException e = assertInstanceOf(DeadlineExceededException.class, failureOf(task));
      assertSame(real, e.getCause());
      assertEquals(1, task.attempts());
    }
  }

  @Nested
  class NotBefore {
    @Test
    void aTaskWithANotBeforeTimeWaitsInTheSchedulerWithNoThreadOfItsOwn() {
      Instant t0 = Instant.parse("2030-01-01T00:00:00Z");
      AtomicInteger threadsMade = new AtomicInteger();
      WorkQueue q =
          fx.started(
              tasks.builder("not-before-wait")
                  .clock(InstantSource.fixed(t0))
                  .threadFactory(r -> {
                    threadsMade.incrementAndGet();
                    return Thread.ofVirtual().unstarted(r);
                  }));
      List<Task<?>> waiting = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        waiting.add(q.enqueue(tasks.of(ctx -> {}).delay(Duration.ofHours(1))));
      }
      for (Task<?> task : waiting) {
        assertEquals(TaskState.WAITING, task.state());
        assertEquals(t0.plus(Duration.ofHours(1)), task.nextAttemptAt());
        assertEquals(0, task.attempts());
        tasks.assertEncodedOnceAndDecodedPerAttempt(task);
      }
      assertEquals(100, q.stats().waiting());
      assertEquals(0, q.stats().running());
      // 100 waiting tasks, and not one thread made for them: they wait in the scheduler.
      assertEquals(0, threadsMade.get());
    }

    @Test
    void aDelayedTaskStartsNoEarlierThanItsTime() throws Exception {
      WorkQueue q = started();
      Instant notBefore = Instant.now().plusMillis(100);
      Task<?> task = q.enqueue(tasks.ofJob(ctx -> Instant.now()).notBefore(notBefore));
      Instant startedAt = tasks.awaitResult(task);
      assertFalse(startedAt.isBefore(notBefore), () -> startedAt + " is before " + notBefore);

      Instant enqueuedAt = Instant.now();
      Task<?> delayed = q.enqueue(tasks.ofJob(ctx -> Instant.now()).delay(Duration.ofMillis(100)));
      Instant delayedStart = tasks.awaitResult(delayed);
      assertFalse(
          delayedStart.isBefore(enqueuedAt.plusMillis(100)),
          () -> delayedStart + " is before " + enqueuedAt.plusMillis(100));
    }

    @Test
    void notBeforeInThePastRunsAtOnce() throws Exception {
      Instant t0 = Instant.parse("2030-01-01T00:00:00Z");
      WorkQueue q = fx.started(tasks.builder("not-before-past").clock(InstantSource.fixed(t0)));
      Task<?> past = q.enqueue(tasks.ofJob(ctx -> "now").notBefore(t0.minusSeconds(5)));
      assertEquals("now", tasks.awaitResult(past));
      assertEquals(0, q.stats().waiting());
    }
  }

  @Nested
  class AfterCallback {
    @Test
    void runsExactlyOnceBeforeAwaitReturnsForEveryOutcome() throws Exception {
      WorkQueue q = fx.started(tasks.builder("after").concurrency(1));
      AtomicInteger ok = new AtomicInteger();
      AtomicInteger failed = new AtomicInteger();
      AtomicInteger cancelled = new AtomicInteger();
      AtomicInteger unqueued = new AtomicInteger();
      List<TaskState> seen = new java.util.concurrent.CopyOnWriteArrayList<>();

      Task<?> success =
          q.enqueue(tasks.ofJob(ctx -> "ok").after(t -> {
            ok.incrementAndGet();
            seen.add(t.state());
          }));
      assertEquals("ok", tasks.awaitResult(success));
      assertEquals(1, ok.get(), "the callback ran before await returned");

      Task<?> failure =
          q.enqueue(
              tasks.of(ctx -> {
                    throw new IllegalStateException("x");
                  })
                  .retries(2)
                  .backoff(Backoff.none())
                  .after(t -> failed.incrementAndGet()));
      failureOf(failure);
      assertEquals(1, failed.get(), "once per task, not per attempt");

      Task<?> never = tasks.of(ctx -> {}).after(t -> unqueued.incrementAndGet());
      assertTrue(never.cancel());
      assertEquals(1, unqueued.get());
      assertThrows(CancellationException.class, never::await);

      Blocker blocker = fx.blocker();
      tasks.submit(q, blocker.work());
      blocker.awaitStarted();
      Task<?> pending = q.enqueue(tasks.of(ctx -> {}).after(t -> cancelled.incrementAndGet()));
      assertTrue(pending.cancel());
      assertFalse(pending.cancel(), "a second cancel changes nothing");
      assertThrows(CancellationException.class, pending::await);
      assertEquals(1, cancelled.get());
      blocker.release();
      q.shutdown();
      assertEquals(List.of(TaskState.SUCCEEDED), seen);
      assertEquals(1, ok.get());
      assertEquals(1, failed.get());
      assertEquals(1, cancelled.get());
    }

    @Test
    void aThrowingCallbackIsLoggedAndHarmsNothing() throws Exception {
      WorkQueue q = started();
      Task<?> task =
          q.enqueue(tasks.ofJob(ctx -> "fine").after(t -> {
            throw new IllegalStateException("callback bug");
          }));
      assertEquals("fine", tasks.awaitResult(task));
      assertEquals(TaskState.SUCCEEDED, task.state());
      assertEquals("still works", tasks.awaitResult(tasks.submitJob(q, ctx -> "still works")));
    }
  }

  @Nested
  class Cancel {
    @Test
    void aPendingTaskIsRemovedAndNeverRuns() throws Exception {
      WorkQueue q = fx.unstarted(tasks.builder("cancel-pending"));
      AtomicInteger ran = new AtomicInteger();
      Task<?> task = tasks.submit(q, ctx -> ran.incrementAndGet());
      assertTrue(task.cancel());
      assertEquals(TaskState.CANCELLED, task.state());
      q.start();
      q.shutdown();
      assertEquals(0, ran.get());
      assertEquals(1, q.stats().cancelled());
      assertEquals(0, q.stats().outstanding());
      tasks.assertEncodedOnceAndDecodedPerAttempt(task);
    }

    @Test
    void aTaskWaitingToRetryIsCancelledAndNeverRunsAgain() throws Exception {
      RecordingListener events = new RecordingListener();
      WorkQueue q = fx.started(tasks.builder("cancel-waiting").listener(events));
      AtomicInteger ran = new AtomicInteger();
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> {
                    ran.incrementAndGet();
                    throw new IllegalStateException("x");
                  })
                  .retries(3)
                  .backoff(Backoff.fixed(Duration.ofHours(1))));
      events.awaitFirst(RetryScheduled.class);
      assertEquals(TaskState.WAITING, task.state());
      assertTrue(task.cancel());
      assertThrows(CancellationException.class, () -> task.await(GENEROUS));
      q.shutdown();
      assertEquals(1, ran.get());
      assertEquals(TaskState.CANCELLED, task.state());
      assertInstanceOf(IllegalStateException.class, task.error(), "keeps its last real failure");
      tasks.assertEncodedOnceAndDecodedPerAttempt(task);
    }

    @Test
    void aRunningTaskIsInterruptedAndNotRetried() throws Exception {
      WorkQueue q = started();
      Blocker never = fx.blocker();
      Task<?> task = q.enqueue(tasks.of(never.work()).retries(5));
      never.awaitStarted();
      assertTrue(task.cancel());
      assertThrows(CancellationException.class, () -> task.await(GENEROUS));
      assertEquals(1, never.interruptions());
      assertEquals(1, task.attempts());
      assertEquals(TaskState.CANCELLED, task.state());
    }

    @Test
    void cancellingTheFutureViewCancelsTheTask() throws Exception {
      WorkQueue q = started();
      Blocker never = fx.blocker();
      Task<?> task = tasks.submit(q, never.work());
      never.awaitStarted();
      CompletableFuture<?> view = task.future();
      assertSame(view, task.future());
      assertTrue(view.cancel(true));
      assertThrows(CancellationException.class, () -> task.await(GENEROUS));
      assertTrue(view.isCancelled());
      assertEquals(TaskState.CANCELLED, task.state());
    }

    @Test
    void completingTheViewByHandDoesNotChangeTheTask() throws Exception {
      WorkQueue q = started();
      CountDownLatch release = fx.latch();
      Task<?> task =
          tasks.submitJob(q, ctx -> {
            release.await();
            return "real";
          });
      // A value the task never produces, whatever its kind: a typed task's view is a
      // CompletableFuture<Void>, which only this cast lets the test complete with one.
      @SuppressWarnings("unchecked")
      CompletableFuture<Object> view = (CompletableFuture<Object>) task.future();
      assertTrue(view.complete("fake"));
      assertFalse(task.isDone(), "the view was completed, not the task");
      release.countDown();
      assertEquals("real", tasks.awaitResult(task));
    }

    @Test
    void aFinishedTaskCannotBeCancelled() throws Exception {
      WorkQueue q = started();
      Task<?> task = tasks.submitJob(q, ctx -> "done");
      task.await(GENEROUS);
      assertFalse(task.cancel());
      assertEquals(TaskState.SUCCEEDED, task.state());
    }
  }

  @Nested
  class Freezing {
    @Test
    void configurationIsFrozenOnceEnqueued() {
      WorkQueue q = fx.unstarted(tasks.builder("frozen"));
      Task<?> task = q.enqueue(tasks.of(ctx -> {}).named("frozen-task"));
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> task.retries(3));
      assertTrue(e.getMessage().contains("frozen-task"), e.getMessage());
      assertThrows(IllegalStateException.class, () -> task.named("other"));
      assertThrows(IllegalStateException.class, () -> task.after(t -> {}));
      assertThrows(IllegalStateException.class, () -> q.enqueue(task), "enqueued twice");
    }

    @Test
    void aCancelledTaskCannotBeEnqueued() {
      WorkQueue q = fx.unstarted(tasks.builder("cancelled-enqueue"));
      Task<?> task = tasks.of(ctx -> {});
      task.cancel();
      assertThrows(IllegalStateException.class, () -> q.enqueue(task));
      assertEquals(0, q.stats().submitted());
    }
  }

  @Nested
  class BadArguments {
    @Test
    void builderArgumentsAreCheckedAtTheCall() {
      assertEquals("name", assertThrows(NullPointerException.class, () -> WorkQueue.builder(null)).getMessage());
      assertThrows(IllegalArgumentException.class, () -> WorkQueue.builder(" "));
      WorkQueue.Builder b = tasks.builder("args");
      assertEquals(
          "concurrency: 0 (expected: >= 1)",
          assertThrows(IllegalArgumentException.class, () -> b.concurrency(0)).getMessage());
      assertEquals(
          "capacity: -5 (expected: >= 1)",
          assertThrows(IllegalArgumentException.class, () -> b.capacity(-5)).getMessage());
      assertThrows(IllegalArgumentException.class, () -> b.abandonAfter(Duration.ofSeconds(-1)));
      assertThrows(IllegalArgumentException.class, () -> b.progressInterval(Duration.ZERO));
      assertThrows(NullPointerException.class, () -> b.listener(null));
      assertThrows(NullPointerException.class, () -> b.clock(null));
    }

    @Test
    void taskArgumentsAreCheckedAtTheCall() {
      switch (kind) {
        case CLOSURE -> {
          assertEquals("work", assertThrows(NullPointerException.class, () -> Task.of(null)).getMessage());
          assertEquals("job", assertThrows(NullPointerException.class, () -> Task.ofJob(null)).getMessage());
        }
        case TYPED ->
            assertEquals(
                "type", assertThrows(NullPointerException.class, () -> Task.of(null, "body")).getMessage());
      }
      Task<?> t = tasks.of(ctx -> {});
      assertEquals(
          "attemptTimeout: PT0S (expected: > 0)",
          assertThrows(IllegalArgumentException.class, () -> t.attemptTimeout(Duration.ZERO)).getMessage());
      assertEquals(
          "within: PT-1S (expected: > 0)",
          assertThrows(IllegalArgumentException.class, () -> t.within(Duration.ofSeconds(-1))).getMessage());
      assertEquals(
          "delay: PT-0.001S (expected: >= 0)",
          assertThrows(IllegalArgumentException.class, () -> t.delay(Duration.ofMillis(-1))).getMessage());
      assertThrows(IllegalArgumentException.class, () -> t.named(""));
      assertThrows(NullPointerException.class, () -> t.notBefore(null));
      assertEquals(TaskState.NEW, t.state(), "a refused setting leaves the task as it was");
    }

    @Test
    void queueArgumentsAreCheckedAtTheCall() {
      WorkQueue q = fx.unstarted(tasks.builder("null-args"));
      assertEquals("task", assertThrows(NullPointerException.class, () -> q.enqueue(null)).getMessage());
      switch (kind) {
        case CLOSURE ->
            assertEquals("work", assertThrows(NullPointerException.class, () -> q.submit(null)).getMessage());
        case TYPED ->
            assertEquals(
                "type", assertThrows(NullPointerException.class, () -> q.submit(null, "body")).getMessage());
      }
      assertThrows(NullPointerException.class, () -> q.offer(null));
      assertThrows(NullPointerException.class, () -> q.shutdown((Duration) null));
      assertThrows(IllegalArgumentException.class, () -> RetryPolicy.defaults().withAttemptTimeout(Duration.ZERO));
    }

    @Test
    void shutdownFromItsOwnTaskIsRefusedInsteadOfWaitingForever() throws Exception {
      WorkQueue q = started();
      Task<?> task =
          tasks.submitJob(q, ctx -> {
            IllegalStateException e = assertThrows(IllegalStateException.class, q::shutdown);
            assertThrows(IllegalStateException.class, q::close);
            return e.getMessage();
          });
      String message = tasks.awaitResult(task);
      assertTrue(message.contains("would wait for that task forever"), message);
      assertFalse(q.isShutdown(), "the refused call changed nothing");
    }

    @Test
    void startOrRunTwiceIsAnError() {
      WorkQueue q = started();
      IllegalStateException e = assertThrows(IllegalStateException.class, q::start);
      assertTrue(e.getMessage().contains("semantics"), e.getMessage());
      assertThrows(IllegalStateException.class, q::run);
    }
  }

  @Nested
  class Results {
    @Test
    void theFutureCompletesExceptionallyWithTheErrorItself() throws Exception {
      WorkQueue q = started();
      IllegalStateException boom = new IllegalStateException("boom");
      Task<?> task =
          q.enqueue(tasks.<String>ofJob(ctx -> {
                throw boom;
              })
              .retries(0));
      ExecutionException e = assertThrows(ExecutionException.class, () -> get(task.future()));
      assertSame(boom, e.getCause());
      assertSame(boom, task.error());
    }

    @Test
    void aCheckedExceptionIsTheErrorUnwrapped() {
      WorkQueue q = started();
      Task<?> task =
          q.enqueue(
              tasks.of(ctx -> {
                    throw new java.io.IOException("disk");
                  })
                  .retries(0));
      Throwable error = failureOf(task);
      assertInstanceOf(java.io.IOException.class, error);
      assertEquals("disk", error.getMessage());
    }

    @Test
    void aWorkTaskResultIsNull() throws Exception {
      WorkQueue q = started();
      Task<@Nullable Void> task = tasks.submit(q, ctx -> {});
      assertNull(task.await(GENEROUS));
    }
  }
}
