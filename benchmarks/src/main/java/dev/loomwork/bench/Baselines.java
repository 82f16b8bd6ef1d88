package dev.loomwork.bench;

import static dev.loomwork.bench.Bench.CONCURRENCY;
import static dev.loomwork.bench.Bench.N;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.StructuredTaskScope;
import java.util.concurrent.StructuredTaskScope.Joiner;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a user would write instead of loomwork, and the floors of structured designs written straight
 * against {@link StructuredTaskScope} (DESIGN.md section 8). Method names are
 * {@code <loomwork benchmark>_<baseline>}. Forks run with {@code --enable-preview}, which the raw
 * scope baselines need; the plain-JDK baselines do not depend on it.
 *
 * <p>Every baseline that has a limit on work in flight uses {@link Bench#CONCURRENCY}, enforced by a
 * semaphore that the submitting thread acquires and the task releases, like loomwork's permits.
 */
@State(Scope.Benchmark)
@Fork(
    value = 1,
    jvmArgs = {
      "--enable-preview",
      "--sun-misc-unsafe-memory-access=allow",
      "-Xms2g",
      "-Xmx2g"
    })
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class Baselines {

  static final Runnable NOOP = () -> {};

  // ------------------------------------------------------------------------------------------
  // 1. Producer-side enqueue: no consumer runs during the batch (single-shot batches, like loomwork's).
  // ------------------------------------------------------------------------------------------

  @State(Scope.Benchmark)
  public static class Lbq {
    LinkedBlockingQueue<Runnable> queue;

    @Setup(Level.Iteration)
    public void setUp() {
      queue = new LinkedBlockingQueue<>();
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 40, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Measurement(iterations = 60, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Threads(1)
  public boolean enqueue_1producer_lbqOffer(Lbq s) {
    return s.queue.offer(NOOP);
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 40, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Measurement(iterations = 60, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Threads(2)
  public boolean enqueue_2producers_lbqOffer(Lbq s) {
    return s.queue.offer(NOOP);
  }

  /** A 2-thread pool whose workers are parked on a gate during the batch, so execute() only queues. */
  @State(Scope.Benchmark)
  public static class ParkedPool {
    ThreadPoolExecutor pool;
    CountDownLatch gate;

    @Setup(Level.Iteration)
    public void setUp() throws InterruptedException {
      pool = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
      gate = new CountDownLatch(1);
      CountDownLatch parked = new CountDownLatch(2);
      for (int i = 0; i < 2; i++) {
        pool.execute(
            () -> {
              parked.countDown();
              try {
                gate.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
      }
      parked.await();
    }

    @TearDown(Level.Iteration)
    public void tearDown() throws InterruptedException {
      pool.shutdownNow(); // drops the queued no-ops
      gate.countDown();
      pool.awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 40, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Measurement(iterations = 60, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Threads(1)
  public void enqueue_1producer_tpeExecute(ParkedPool s) {
    s.pool.execute(NOOP);
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 40, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Measurement(iterations = 60, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Threads(2)
  public void enqueue_2producers_tpeExecute(ParkedPool s) {
    s.pool.execute(NOOP);
  }

  // ------------------------------------------------------------------------------------------
  // Executors shared by benchmarks 2 to 5
  // ------------------------------------------------------------------------------------------

  @State(Scope.Benchmark)
  public static class Pool2 {
    ThreadPoolExecutor pool;

    @Setup(Level.Trial)
    public void setUp() {
      pool = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
      pool.prestartAllCoreThreads();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      close(pool);
    }
  }

  @State(Scope.Benchmark)
  public static class Pool64 {
    ThreadPoolExecutor pool;

    @Setup(Level.Trial)
    public void setUp() {
      pool = new ThreadPoolExecutor(64, 64, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
      pool.prestartAllCoreThreads();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      close(pool);
    }
  }

  /** A virtual thread per task, at most {@link Bench#CONCURRENCY} in flight. */
  @State(Scope.Benchmark)
  public static class VirtualPerTask {
    ExecutorService executor;
    final Semaphore permits = new Semaphore(CONCURRENCY);

    @Setup(Level.Trial)
    public void setUp() {
      executor = Executors.newVirtualThreadPerTaskExecutor();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      close(executor);
    }
  }

  /** Virtual threads for the raw scope baselines, at most {@link Bench#CONCURRENCY} in flight. */
  @State(Scope.Benchmark)
  public static class Scopes {
    final ThreadFactory threads = Thread.ofVirtual().factory();
    final Semaphore permits = new Semaphore(CONCURRENCY);
  }

  static void close(ExecutorService executor) throws InterruptedException {
    executor.shutdown();
    if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("executor did not terminate: " + executor);
    }
  }

  // ------------------------------------------------------------------------------------------
  // 2. End to end, no-op bodies: submit N, wait for all. Score: tasks per second.
  // ------------------------------------------------------------------------------------------

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noop_tpe2(Pool2 s) throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(N);
    Runnable body = latch::countDown;
    for (int i = 0; i < N; i++) {
      s.pool.execute(body);
    }
    Bench.await(latch);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noop_virtualPerTask(VirtualPerTask s) throws InterruptedException {
    runVirtualPerTask(s, NOOP);
  }

  static void runVirtualPerTask(VirtualPerTask s, Runnable work) throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(N);
    Semaphore permits = s.permits;
    Runnable task =
        () -> {
          try {
            work.run();
          } finally {
            permits.release();
            latch.countDown();
          }
        };
    for (int i = 0; i < N; i++) {
      permits.acquire();
      s.executor.execute(task);
    }
    Bench.await(latch);
  }

  /** Floor 1: each body forked straight into one scope (one virtual thread per task). */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noop_stsOneScope(Scopes s) throws InterruptedException {
    runOneScope(s, NOOP);
  }

  /** Floor 2, loomwork's shape: an attempt thread opens its own scope and forks the body into it. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noop_stsAttemptScope(Scopes s) throws InterruptedException {
    runAttemptScopes(s, NOOP, null);
  }

  /** Floor 3: floor 2 with a timeout configured on every attempt scope. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noop_stsAttemptScopeTimeout(Scopes s) throws InterruptedException {
    runAttemptScopes(s, NOOP, Duration.ofMinutes(1));
  }

  static void runOneScope(Scopes s, Runnable work) throws InterruptedException {
    Semaphore permits = s.permits;
    Runnable task =
        () -> {
          try {
            work.run();
          } finally {
            permits.release();
          }
        };
    try (var scope =
        StructuredTaskScope.open(Joiner.<Object>awaitAll(), c -> c.withThreadFactory(s.threads))) {
      for (int i = 0; i < N; i++) {
        permits.acquire();
        scope.fork(task);
      }
      scope.join();
    }
  }

  static void runAttemptScopes(Scopes s, Runnable work, Duration timeout)
      throws InterruptedException {
    Semaphore permits = s.permits;
    ThreadFactory threads = s.threads;
    Runnable attempt =
        () -> {
          try (var inner =
              StructuredTaskScope.open(
                  Joiner.<Object>awaitAllSuccessfulOrThrow(),
                  c -> timeout == null
                      ? c.withThreadFactory(threads)
                      : c.withThreadFactory(threads).withTimeout(timeout))) {
            inner.fork(work);
            inner.join();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } finally {
            permits.release();
          }
        };
    try (var scope =
        StructuredTaskScope.open(Joiner.<Object>awaitAll(), c -> c.withThreadFactory(threads))) {
      for (int i = 0; i < N; i++) {
        permits.acquire();
        scope.fork(attempt);
      }
      scope.join();
    }
  }

  // ------------------------------------------------------------------------------------------
  // 3. Latency at light load: one task at a time. Score: microseconds per task.
  // ------------------------------------------------------------------------------------------

  @State(Scope.Benchmark)
  public static class Signal {
    final Semaphore started = new Semaphore(0);
    final Runnable signalStart = started::release;
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latency_toStart_tpe2(Pool2 p, Signal s) throws InterruptedException {
    p.pool.execute(s.signalStart);
    s.started.acquire();
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Object latency_toCompletion_tpe2(Pool2 p)
      throws InterruptedException, ExecutionException {
    return p.pool.submit(NOOP).get();
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latency_toStart_virtualPerTask(VirtualPerTask p, Signal s)
      throws InterruptedException {
    p.executor.execute(s.signalStart);
    s.started.acquire();
  }

  /** {@code latencyIdle_toStart}'s baseline: a virtual thread per task, started from rest ({@link Idle}). */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latencyIdle_toStart_virtualPerTask(VirtualPerTask p, Signal s, Idle idle)
      throws InterruptedException {
    p.executor.execute(s.signalStart);
    s.started.acquire();
  }

  /** The same from rest on a pool of two platform threads. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latencyIdle_toStart_tpe2(Pool2 p, Signal s, Idle idle) throws InterruptedException {
    p.pool.execute(s.signalStart);
    s.started.acquire();
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Object latency_toCompletion_virtualPerTask(VirtualPerTask p)
      throws InterruptedException, ExecutionException {
    return p.executor.submit(NOOP).get();
  }

  // ------------------------------------------------------------------------------------------
  // 4. I/O-bound: N tasks that each block 1 ms. Score: tasks per second.
  // ------------------------------------------------------------------------------------------

  static final Runnable SLEEP_1MS =
      () -> {
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      };

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void io_virtualPerTask(VirtualPerTask s) throws InterruptedException {
    runVirtualPerTask(s, SLEEP_1MS);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void io_tpe64(Pool64 s) throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(N);
    Runnable task =
        () -> {
          SLEEP_1MS.run();
          latch.countDown();
        };
    for (int i = 0; i < N; i++) {
      s.pool.execute(task);
    }
    Bench.await(latch);
  }

  /** The raw floor of loomwork's shape, for I/O-bound bodies. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void io_stsAttemptScope(Scopes s) throws InterruptedException {
    runAttemptScopes(s, SLEEP_1MS, null);
  }

  // ------------------------------------------------------------------------------------------
  // 5. Retry-heavy: half of the tasks fail their first attempt. The baseline retries in a loop on
  //    the task's own virtual thread, as hand-written code would, but at once, without the 1 ms
  //    backoff of loomwork's benchmark: a floor. PeersVirtualThreadLoop.retryHalfOnce is the same
  //    loop with the backoff, like for like. Score: tasks per second.
  // ------------------------------------------------------------------------------------------

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void retryHalfOnce_virtualPerTaskLoop(VirtualPerTask s) throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(N);
    Semaphore permits = s.permits;
    for (int i = 0; i < N; i++) {
      boolean failsOnce = (i & 1) == 0;
      permits.acquire();
      s.executor.execute(
          () -> {
            try {
              for (int attempt = 1; ; attempt++) {
                try {
                  if (failsOnce && attempt == 1) {
                    throw Bench.FAIL_ONCE;
                  }
                  latch.countDown();
                  return;
                } catch (RuntimeException e) {
                  if (attempt > 3) {
                    throw e;
                  }
                }
              }
            } finally {
              permits.release();
            }
          });
    }
    Bench.await(latch);
  }
}
