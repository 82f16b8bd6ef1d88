package dev.loomwork.bench;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * What each task of one batch is planned to do, and a tally of what it did, so that a benchmark
 * fails unless every task ran to success exactly as planned: no task lost, none run twice, no retry
 * missing or extra, none given up.
 *
 * <p>Task {@code i} of a batch is planned to succeed at its first attempt, or, in the retry-heavy
 * plan, to fail its first attempt when {@code i} is even ({@link Bench#FAIL_ONCE}) and succeed at its
 * second. The body of an attempt is {@link #attempt(int)} (or {@link #run(int)}): it counts the
 * attempt in the task's own slot (one uncontended atomic increment; the count also decides whether
 * this attempt fails, so the plan needs no attempt number from the library under test), and throws if
 * the plan says this attempt fails. A task succeeds only at its planned last attempt, so when every
 * slot holds its planned count, every task succeeded exactly once and was retried exactly as
 * planned. {@link #awaitAndVerify()} waits for the batch ({@link Bench#await}, a hang guard) and
 * checks every slot; a library that gives a task up reports it to {@link #gaveUp(Throwable)}, which
 * ends the wait at once so that the check fails fast.
 */
final class Plan {
  private final boolean halfFailOnce;
  private final AtomicIntegerArray attempts;
  private final CountDownLatch succeeded;
  private final AtomicInteger gaveUp = new AtomicInteger();
  private volatile Throwable firstGiveUp;

  private Plan(int tasks, boolean halfFailOnce) {
    this.halfFailOnce = halfFailOnce;
    this.attempts = new AtomicIntegerArray(tasks);
    this.succeeded = new CountDownLatch(tasks);
  }

  /** Every task succeeds at its first attempt. */
  static Plan allSucceed(int tasks) {
    return new Plan(tasks, false);
  }

  /** The retry-heavy plan: even tasks fail their first attempt, then succeed; odd ones succeed. */
  static Plan halfFailOnce(int tasks) {
    return new Plan(tasks, true);
  }

  int tasks() {
    return attempts.length();
  }

  /** The attempts task {@code i} is planned to make. */
  int planned(int i) {
    return halfFailOnce && (i & 1) == 0 ? 2 : 1;
  }

  /**
   * One attempt of task {@code i}, without marking the task done: counts it, and throws {@link
   * Bench#FAIL_ONCE} if the plan says it fails. For libraries whose own "done" comes after the body
   * (JobRunr's saved SUCCEEDED state), which then call {@link #succeeded()}.
   *
   * @return the attempt's number, from 1
   */
  int attempt(int i) {
    int attempt = attempts.incrementAndGet(i);
    if (attempt < planned(i)) {
      throw Bench.FAIL_ONCE;
    }
    return attempt;
  }

  /** One attempt of task {@code i} that, when the plan says it succeeds, marks the task done. */
  void run(int i) {
    attempt(i);
    succeeded.countDown();
  }

  /** The I/O-bound body: block {@link Bench#IO_MILLIS}, then {@link #run(int)}. */
  void runAfterIo(int i) throws InterruptedException {
    Thread.sleep(Bench.IO_MILLIS);
    run(i);
  }

  /** Marks one task done; see {@link #attempt(int)}. */
  void succeeded() {
    succeeded.countDown();
  }

  /** The library gave a task up (its retries exhausted, or a failure it does not retry). */
  void gaveUp(Throwable failure) {
    if (gaveUp.getAndIncrement() == 0) {
      firstGiveUp = failure;
    }
    // End the wait now: the check below fails the benchmark instead of the hang guard, much later.
    while (succeeded.getCount() > 0) {
      succeeded.countDown();
    }
  }

  /** Waits until every task is done (or the hang guard fires), then {@link #verify()}. */
  void awaitAndVerify() throws InterruptedException {
    Bench.await(succeeded);
    verify();
  }

  /**
   * Throws unless every task made exactly its planned attempts and none was given up. Call it again
   * after the library under test has stopped to catch a stray extra attempt.
   */
  void verify() {
    int failures = gaveUp.get();
    if (failures > 0) {
      throw new IllegalStateException(failures + " tasks were given up", firstGiveUp);
    }
    int n = attempts.length();
    for (int i = 0; i < n; i++) {
      int made = attempts.get(i);
      if (made != planned(i)) {
        throw new IllegalStateException(
            "task " + i + " of " + n + " made " + made + " attempts; planned " + planned(i));
      }
    }
  }
}
