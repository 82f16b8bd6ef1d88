package dev.loomwork.bench;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The peers: the libraries a user would pick instead of loomwork, each run through loomwork's own
 * workloads with the same sizes ({@link Bench}) and under the same benchmark names, one class per
 * peer: {@link PeersFailsafe}, {@link PeersResilience4j}, {@link PeersVirtualThreadLoop}, {@link
 * PeersCoroutines}, {@link PeersJobRunr}.
 *
 * <ul>
 *   <li>{@code enqueueDraining_1producer}: the producer side, single-shot batches of {@link
 *       LoomworkBenchmarks#ENQUEUE_BATCH} submissions from one thread, with no limit in flight,
 *       while the peer drains them (a peer's executor cannot be held back the way loomwork's
 *       {@code enqueue_1producer} holds an unstarted queue; loomwork's {@code
 *       enqueueDraining_1producer} is the like-for-like figure). Each iteration's tasks are waited
 *       for and checked, untimed.
 *   <li>{@code noop}, {@code io}, {@code retryHalfOnce}: end to end, {@link Bench#N} tasks per
 *       invocation ({@link PeersJobRunr#JOBS} for JobRunr, which is slow), at most {@link Bench#CONCURRENCY} in flight (a semaphore that the producer
 *       acquires and the task's completion releases, as in {@link Baselines}, unless the peer has a
 *       limit of its own). {@code io} blocks 1 ms per task; {@code retryHalfOnce} fails the first
 *       attempt of every other task, {@link Bench#RETRIES} retries after a fixed {@link
 *       Bench#RETRY_BACKOFF}, like loomwork's.
 *   <li>{@code latency_toStart}, {@code latency_toCompletion}: one task at a time, sampled.
 * </ul>
 *
 * <p>Every end-to-end batch runs through a {@link Plan}: the benchmark throws unless every task made
 * exactly its planned attempts and succeeded once. The light-load benchmarks count their tasks
 * ({@link Singles}). Forks run without {@code --enable-preview}: no peer needs it.
 */
@State(Scope.Benchmark)
@Fork(
    value = 1,
    jvmArgs = {
      "--sun-misc-unsafe-memory-access=allow",
      "-Xms2g",
      "-Xmx2g",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
    })
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public abstract class Peers {

  /**
   * Light-load bookkeeping, one task at a time, checked when the peer has stopped: each task whose
   * body signals its start ({@link #started}) released exactly one permit that the benchmark took,
   * and each task whose completion the benchmark awaited ran its body exactly once ({@link #ran}).
   */
  static final class Singles {
    final Semaphore started = new Semaphore(0);
    final LongAdder ran = new LongAdder();
    /** Written by the one benchmark thread; read at the trial's end. */
    long completionsAwaited;

    void verify() {
      if (started.availablePermits() != 0) {
        throw new IllegalStateException(
            started.availablePermits() + " start signals were never awaited: a task ran twice");
      }
      if (ran.sum() != completionsAwaited) {
        throw new IllegalStateException(
            ran.sum() + " bodies ran for " + completionsAwaited + " completed tasks");
      }
    }
  }

  static void close(ExecutorService executor) throws InterruptedException {
    executor.shutdown();
    if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("executor did not terminate: " + executor);
    }
  }
}
