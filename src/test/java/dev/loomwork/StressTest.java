package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/**
 * 100,000 tasks from 4 producers through a queue of concurrency 64 with a small capacity (so the
 * producers block on backpressure), with seeded random failures, retries, non-retryable failures and
 * cancellations at random moments. Checks that every task reaches exactly one terminal state exactly
 * once and that the queue's counts, the listener's counts and the tasks' states agree.
 *
 * <p>Reproduce a run with {@code -Dloomwork.stress.seed=SEED} (the seed is printed).
 */
class StressTest {
  private static final int TASKS = 100_000;
  private static final int PRODUCERS = 4;
  private static final int CONCURRENCY = 64;
  private static final int CAPACITY = 1_000;
  private static final int RETRIES = 2;
  private static final int MAX_ATTEMPTS = RETRIES + 1;
  private static final double FAIL_PROBABILITY = 0.3;
  private static final double NON_RETRYABLE_PROBABILITY = 0.05;
  private static final double SLOW_PROBABILITY = 0.01;
  private static final double CANCEL_PROBABILITY = 0.003;

  /** A retryable failure without a stack trace (the queue logs every final failure). */
  static final class Flaky extends RuntimeException {
    Flaky(int task, int attempt) {
      super("task " + task + " attempt " + attempt, null, false, false);
    }
  }

  /** A non-retryable failure without a stack trace. */
  static final class Permanent extends NonRetryableException {
    Permanent(int task, int attempt) {
      super("task " + task + " attempt " + attempt + " (permanent)");
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }

  /** The plan of one task, drawn from its own seeded random: reproducible whatever the timing. */
  record Plan(int failMask, int nonRetryableAttempt, boolean slow, boolean backoffNone) {
    boolean fails(int attempt) {
      return (failMask & (1 << attempt)) != 0;
    }

    static Plan of(long seed, int task) {
      SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (task + 1)));
      int mask = 0;
      int nonRetryable = 0;
      for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        if (r.nextDouble() < FAIL_PROBABILITY) {
          mask |= 1 << attempt;
        }
      }
      boolean permanent = r.nextDouble() < NON_RETRYABLE_PROBABILITY;
      if (permanent) {
        nonRetryable = 1 + r.nextInt(MAX_ATTEMPTS);
        mask |= 1 << nonRetryable;
      }
      return new Plan(mask, nonRetryable, r.nextDouble() < SLOW_PROBABILITY, r.nextBoolean());
    }

    /** The outcome if nobody cancels the task. */
    TaskState expectedState() {
      for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        if (!fails(attempt)) {
          return TaskState.SUCCEEDED;
        }
        if (attempt == nonRetryableAttempt) {
          return TaskState.FAILED;
        }
      }
      return TaskState.FAILED;
    }

    int expectedAttempts() {
      for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        if (!fails(attempt) || attempt == nonRetryableAttempt) {
          return attempt;
        }
      }
      return MAX_ATTEMPTS;
    }
  }

  /** Counts every event, per task where it matters. */
  static final class CountingListener implements WorkQueueListener {
    final LongAdder enqueued = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LongAdder succeeded = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder cancelled = new LongAdder();
    final LongAdder retriesScheduled = new LongAdder();
    final LongAdder attemptsFinished = new LongAdder();
    final AtomicIntegerArray terminalEvents = new AtomicIntegerArray(TASKS);
    final AtomicIntegerArray attemptsStarted = new AtomicIntegerArray(TASKS);
    final AtomicInteger maxAttempt = new AtomicInteger();
    final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();

    @Override
    public void onEnqueued(Task<?> task) {
      enqueued.increment();
    }

    @Override
    public void onRejected(String queue, Task<?> task, String reason) {
      rejected.increment();
      problems.add("rejected " + task.name() + ": " + reason);
    }

    @Override
    public void onAttemptStarted(Task<?> task, int attempt, Duration waited) {
      attemptsStarted.incrementAndGet(index(task));
      maxAttempt.accumulateAndGet(attempt, Math::max);
      if (attempt < 1 || attempt > MAX_ATTEMPTS) {
        problems.add(task.name() + " started attempt " + attempt);
      }
    }

    @Override
    public void onAttemptFinished(
        Task<?> task, int attempt, AttemptOutcome outcome, Duration duration, Throwable error) {
      attemptsFinished.increment();
    }

    @Override
    public void onRetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) {
      retriesScheduled.increment();
      if (error instanceof NonRetryableException) {
        problems.add(task.name() + " retried after a non-retryable failure: " + error);
      }
    }

    @Override
    public void onSucceeded(Task<?> task) {
      succeeded.increment();
      terminalEvents.incrementAndGet(index(task));
    }

    @Override
    public void onFailed(Task<?> task, Throwable error) {
      failed.increment();
      terminalEvents.incrementAndGet(index(task));
    }

    @Override
    public void onCancelled(Task<?> task) {
      cancelled.increment();
      terminalEvents.incrementAndGet(index(task));
    }
  }

  static int index(Task<?> task) {
    return Integer.parseInt(task.name(), 2, task.name().length(), 10); // "s-<index>"
  }

  @Test
  void everyTaskEndsExactlyOnceAndTheCountsAddUp() throws Exception {
    long seed = Long.getLong("loomwork.stress.seed", System.nanoTime());
    String runner = System.getProperty("loomwork.expectedRunner", "?");
    System.out.println(
        "StressTest (" + runner + " runner): seed " + seed + " (rerun with -Dloomwork.stress.seed=" + seed + ")");

    Run run = new Run(seed);
    run.produceAndShutDown();
    System.out.println("StressTest (" + runner + " runner): " + run.summary());

    run.assertTheQueueCountsAddUp();
    run.assertTheListenerAgreesWithTheQueue();
    run.assertEveryTaskEndedOnceAsPlanned();
    run.assertAMixOfOutcomesWellUnderAMinute();
  }

  /** One run: its plans, what the producers, bodies, callbacks and listener saw, and its checks. */
  private static final class Run {
    final long seed;
    final Plan[] plans = new Plan[TASKS];
    final CountingListener listener = new CountingListener();
    final AtomicIntegerArray afterCalls = new AtomicIntegerArray(TASKS);
    final AtomicIntegerArray bodyCalls = new AtomicIntegerArray(TASKS);
    final AtomicIntegerArray cancelAsked = new AtomicIntegerArray(TASKS); // 1: cancel() false, 2: true
    final AtomicReferenceArray<Task<Integer>> tasks = new AtomicReferenceArray<>(TASKS);
    final AtomicLong published = new AtomicLong(); // how many tasks producers have enqueued
    final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
    final Map<TaskState, AtomicInteger> stateAtCancel = new EnumMap<>(TaskState.class);
    final WorkQueue queue =
        WorkQueue.builder("stress").concurrency(CONCURRENCY).capacity(CAPACITY).listener(listener).build();
    int samples;
    long elapsedMillis;
    QueueStats stats;

    Run(long seed) {
      this.seed = seed;
      for (int i = 0; i < TASKS; i++) {
        plans[i] = Plan.of(seed, i);
      }
      for (TaskState s : TaskState.values()) {
        stateAtCancel.put(s, new AtomicInteger());
      }
    }

    /** Runs the producers to their end, checking snapshots of the counts meanwhile; then drains. */
    void produceAndShutDown() throws Exception {
      long start = System.nanoTime();
      try {
        queue.start();
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> producers = new ArrayList<>();
        for (int p = 0; p < PRODUCERS; p++) {
          producers.add(startProducer(p, go));
        }
        go.countDown();
        sampleUntil(CompletableFuture.allOf(producers.toArray(CompletableFuture[]::new)));
        queue.shutdown();
      } finally {
        queue.shutdownNow(); // a no-op after a completed shutdown(); stops everything if a check threw
      }
      elapsedMillis = (System.nanoTime() - start) / 1_000_000;
      stats = queue.stats();
    }

    /** A producer enqueues every PRODUCERS-th task, and now and then cancels one. */
    private CompletableFuture<Void> startProducer(int producer, CountDownLatch go) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      Thread.ofPlatform()
          .name("stress-producer-" + producer)
          .start(
              () -> {
                try {
                  go.await();
                  SplittableRandom r = new SplittableRandom(seed + 31L * producer);
                  for (int i = producer; i < TASKS; i += PRODUCERS) {
                    Task<Integer> task = newTask(i, plans[i], afterCalls, bodyCalls, problems);
                    queue.enqueue(task);
                    tasks.set(i, task);
                    long count = published.incrementAndGet();
                    if (r.nextDouble() < CANCEL_PROBABILITY) {
                      cancelOne(r, i, count);
                    }
                  }
                  done.complete(null);
                } catch (Throwable e) {
                  done.completeExceptionally(e);
                }
              });
      return done;
    }

    /**
     * Cancels a task enqueued a moment ago (likely ready) or long ago (likely running or finished):
     * a random moment in its life.
     */
    private void cancelOne(SplittableRandom r, int i, long count) {
      int back = r.nextBoolean() ? r.nextInt(256) : r.nextInt(4 * CAPACITY);
      int target = (int) Math.max(0, Math.min(i, count - 1 - back));
      Task<Integer> victim = tasks.get(target);
      if (victim != null) {
        stateAtCancel.get(victim.state()).incrementAndGet();
        boolean asked = victim.cancel();
        cancelAsked.accumulateAndGet(target, asked ? 2 : 1, Math::max);
      }
    }

    /** While the producers run, every snapshot of the counts must be consistent. */
    private void sampleUntil(CompletableFuture<Void> produced) throws Exception {
      long giveUp = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (true) {
        try {
          produced.get(1, TimeUnit.MILLISECONDS);
          return;
        } catch (java.util.concurrent.TimeoutException notYet) {
          QueueStats s = queue.stats();
          samples++;
          assertEquals(s.submitted(), s.completed() + s.outstanding(), () -> "inconsistent " + s);
          assertTrue(s.running() <= CONCURRENCY, () -> "more running than the concurrency: " + s);
          assertEquals(0, s.rejected(), () -> "rejected: " + s);
          if (System.nanoTime() - giveUp > 0) {
            fail("producers did not finish in 2 minutes: " + s);
          }
        }
      }
    }

    String summary() {
      return TASKS + " tasks in " + elapsedMillis + " ms; " + stats + "; " + samples
          + " consistent snapshots during the run; retries scheduled " + listener.retriesScheduled.sum()
          + "; cancel() calls by task state " + stateAtCancel;
    }

    void assertTheQueueCountsAddUp() {
      assertTrue(queue.isTerminated(), "terminated after shutdown()");
      assertTrue(listener.problems.isEmpty(), () -> "listener saw: " + first(listener.problems));
      assertTrue(problems.isEmpty(), () -> "bodies saw: " + first(problems));
      assertEquals(TASKS, stats.submitted());
      assertEquals(0, stats.rejected());
      assertEquals(0, stats.outstanding(), () -> "outstanding after shutdown: " + stats);
      assertEquals(stats.submitted(), stats.completed(), () -> "submitted != completed: " + stats);
    }

    void assertTheListenerAgreesWithTheQueue() {
      assertEquals(TASKS, listener.enqueued.sum());
      assertEquals(0, listener.rejected.sum());
      assertEquals(stats.succeeded(), listener.succeeded.sum(), "succeeded: listener vs stats");
      assertEquals(stats.failed(), listener.failed.sum(), "failed: listener vs stats");
      assertEquals(stats.cancelled(), listener.cancelled.sum(), "cancelled: listener vs stats");
      assertTrue(listener.maxAttempt.get() <= MAX_ATTEMPTS, "max attempt " + listener.maxAttempt);
    }

    /** Every task: one terminal state, reached once, agreeing with its plan. */
    void assertEveryTaskEndedOnceAsPlanned() {
      Map<TaskState, Integer> byState = new EnumMap<>(TaskState.class);
      long attemptsStarted = 0;
      for (int i = 0; i < TASKS; i++) {
        Task<Integer> task = tasks.get(i);
        assertTrue(task != null, "task " + i + " was not published");
        assertEndedOnce(i, task);
        byState.merge(task.state(), 1, Integer::sum);
        attemptsStarted += task.attempts();
        assertFollowedItsPlan(i, task);
      }
      assertEquals(stats.succeeded(), (long) byState.getOrDefault(TaskState.SUCCEEDED, 0), "SUCCEEDED tasks");
      assertEquals(stats.failed(), (long) byState.getOrDefault(TaskState.FAILED, 0), "FAILED tasks");
      assertEquals(stats.cancelled(), (long) byState.getOrDefault(TaskState.CANCELLED, 0), "CANCELLED tasks");
      assertEquals(attemptsStarted, listener.attemptsFinished.sum(), "every started attempt finished");
    }

    private void assertEndedOnce(int i, Task<Integer> task) {
      assertTrue(task.state().isTerminal(), () -> "not terminal: " + task);
      assertEquals(1, afterCalls.get(i), () -> "after-callback calls of " + task);
      assertEquals(1, listener.terminalEvents.get(i), () -> "terminal listener events of " + task);
      int attempts = task.attempts();
      assertTrue(attempts <= MAX_ATTEMPTS, () -> "too many attempts: " + task);
      assertEquals(listener.attemptsStarted.get(i), attempts, () -> "attempts started of " + task);
      assertEquals(bodyCalls.get(i), attempts, () -> "body calls of " + task);
      assertTrue(task.future().isDone(), () -> "future not done: " + task);
      if (task.state() == TaskState.SUCCEEDED) {
        assertEquals(i, task.future().getNow(-1));
      }
    }

    private void assertFollowedItsPlan(int i, Task<Integer> task) {
      Plan plan = plans[i];
      TaskState state = task.state();
      int attempts = task.attempts();
      int asked = cancelAsked.get(i);
      if (asked == 2) {
        // cancel() said it cancelled the task or asked its attempt to stop: cancelled, unless the
        // running attempt returned normally first.
        assertTrue(
            state == TaskState.CANCELLED || state == TaskState.SUCCEEDED,
            () -> "cancelled task ended " + task);
        assertTrue(attempts <= plan.expectedAttempts(), () -> "attempts of cancelled " + task);
        if (state == TaskState.SUCCEEDED) {
          assertEquals(plan.expectedAttempts(), attempts, () -> "attempts of " + task);
          assertEquals(TaskState.SUCCEEDED, plan.expectedState(), () -> task + " " + plan);
        }
        return;
      }
      // Nobody cancelled it, or cancel() returned false (and never true): the task had already
      // finished by its plan. Its fate is exactly its plan.
      assertEquals(plan.expectedState(), state, () -> "state of " + task + " with " + plan);
      assertEquals(plan.expectedAttempts(), attempts, () -> "attempts of " + task + " with " + plan);
      if (asked == 0 && state == TaskState.FAILED) {
        assertTheErrorIsTheLastRealFailure(i, task, plan);
      }
    }

    private static void assertTheErrorIsTheLastRealFailure(int i, Task<Integer> task, Plan plan) {
      Throwable error = task.error();
      int lastAttempt = plan.expectedAttempts();
      if (lastAttempt == plan.nonRetryableAttempt()) {
        assertInstanceOf(Permanent.class, error, () -> "error of " + task);
      } else {
        assertInstanceOf(Flaky.class, error, () -> "error of " + task);
      }
      assertTrue(
          error.getMessage().equals("task " + i + " attempt " + lastAttempt)
              || error.getMessage().startsWith("task " + i + " attempt " + lastAttempt + " "),
          () -> "the error is the last real failure: " + error);
    }

    void assertAMixOfOutcomesWellUnderAMinute() {
      int cancelledByTest = 0;
      for (int i = 0; i < TASKS; i++) {
        if (cancelAsked.get(i) != 0) {
          cancelledByTest++;
        }
      }
      assertTrue(cancelledByTest > 0, "the test cancelled some tasks");
      assertTrue(stats.cancelled() > 0, "some cancellations took effect");
      assertTrue(stats.failed() > 0 && stats.succeeded() > 0, () -> "a mix of outcomes: " + stats);
      assertTrue(listener.retriesScheduled.sum() > 0, "some tasks were retried");
      assertTrue(elapsedMillis < 60_000, "took " + elapsedMillis + " ms (limit: well under a minute)");
    }
  }

  private static String first(ConcurrentLinkedQueue<String> problems) {
    return problems.size() + " problem(s), first: " + problems.peek();
  }

  private static Task<Integer> newTask(
      int i,
      Plan plan,
      AtomicIntegerArray afterCalls,
      AtomicIntegerArray bodyCalls,
      ConcurrentLinkedQueue<String> problems) {
    return Task.ofJob(
            ctx -> {
              int call = bodyCalls.incrementAndGet(i);
              int attempt = ctx.attempt();
              if (attempt != call || attempt > MAX_ATTEMPTS) {
                problems.add("s-" + i + ": body call " + call + " is attempt " + attempt);
              }
              if (plan.slow()) {
                Thread.sleep(1); // some I/O-like work, so cancellations can find it running
              }
              if (plan.fails(attempt)) {
                if (attempt == plan.nonRetryableAttempt()) {
                  throw new Permanent(i, attempt);
                }
                throw new Flaky(i, attempt);
              }
              return i;
            })
        .named("s-" + i)
        .retries(RETRIES)
        .backoff(plan.backoffNone() ? Backoff.none() : Backoff.fixed(Duration.ofMillis(1)))
        .after(
            t -> {
              int calls = afterCalls.incrementAndGet(i);
              if (calls != 1) {
                problems.add("s-" + i + ": after-callback call " + calls);
              }
              if (!t.state().isTerminal()) {
                problems.add("s-" + i + ": after-callback in state " + t.state());
              }
              if (t.future().isDone()) {
                problems.add("s-" + i + ": future completed before the after-callback");
              }
            });
  }
}
