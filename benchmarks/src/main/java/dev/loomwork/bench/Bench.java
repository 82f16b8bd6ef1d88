package dev.loomwork.bench;

import dev.loomwork.AttemptScope;
import dev.loomwork.ShutdownReport;
import dev.loomwork.WorkQueue;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Sizes shared by loomwork and its baselines, so that every ratio compares like with like. */
final class Bench {
  private Bench() {}

  /** Tasks per end-to-end batch ("submit N, wait for all"). */
  static final int N = 10_000;

  /** The limit of tasks in flight, for loomwork and for every baseline that has one. */
  static final int CONCURRENCY = 1_000;

  /** The default ready-queue capacity of loomwork. */
  static final int CAPACITY = 10_000;

  /** An end-to-end batch that takes longer than this is a hang: fail the benchmark. */
  static final long BATCH_TIMEOUT_SECONDS = 120;

  /** A failure without a stack trace: the retry benchmark measures retries, not fillInStackTrace. */
  static final RuntimeException FAIL_ONCE = new RuntimeException("fails once", null, false, false) {};

  /** The attempt shape a {@code scope} parameter names: {@code shared} or {@code nested}. */
  static AttemptScope scope(String name) {
    return AttemptScope.valueOf(name.toUpperCase(Locale.ROOT));
  }

  /**
   * Retry-heavy workload, for loomwork and every peer: retries after a failed attempt (so at most
   * {@code RETRIES + 1} attempts per task); the plan ({@link Plan#halfFailOnce}) needs only one.
   */
  static final int RETRIES = 3;

  /** Retry-heavy workload, for loomwork and every peer: the fixed delay before each retry. */
  static final Duration RETRY_BACKOFF = Duration.ofMillis(1);

  /** The I/O-bound body's wait: each task blocks its thread this long ({@code Thread.sleep}). */
  static final long IO_MILLIS = 1;

  static void await(CountDownLatch latch) throws InterruptedException {
    if (!latch.await(BATCH_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      throw new IllegalStateException(
          "batch did not finish in " + BATCH_TIMEOUT_SECONDS + " s: " + latch.getCount() + " left");
    }
  }

  /** Fails the trial if the fork's JVM options did not select the runner its class claims. */
  static WorkQueue checkRunner(WorkQueue queue) {
    String expected = System.getProperty("bench.runner");
    if (expected == null) {
      throw new IllegalStateException("-Dbench.runner is not set in this fork");
    }
    if (!queue.toString().contains("runner=" + expected + ",")) {
      throw new IllegalStateException("expected the " + expected + " runner: " + queue);
    }
    return queue;
  }

  static void shutdown(WorkQueue queue) {
    ShutdownReport report = queue.shutdown(Duration.ofSeconds(30));
    if (!report.cancelled().isEmpty() || !report.abandoned().isEmpty()) {
      throw new IllegalStateException("shutdown cut work: " + report);
    }
  }
}
