package dev.loomwork.bench;

import static dev.loomwork.bench.Bench.CAPACITY;
import static dev.loomwork.bench.Bench.CONCURRENCY;
import static dev.loomwork.bench.Bench.N;

import dev.loomwork.Backoff;
import dev.loomwork.RetryPolicy;
import dev.loomwork.Task;
import dev.loomwork.TaskCodec;
import dev.loomwork.TaskType;
import dev.loomwork.Work;
import dev.loomwork.WorkQueue;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The loomwork side of every benchmark. It is abstract: {@link LoomworkStructured} runs it in forks
 * with {@code --enable-preview} (the structured runner), {@link LoomworkFallback} in forks without it
 * (the fallback runner). The baselines are in {@link Baselines}, under the same method names with a
 * prefix, so that each figure has its baselines in the same run.
 *
 * <p>Only the public API is used.
 */
@State(Scope.Benchmark)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public abstract class LoomworkBenchmarks {

  // ------------------------------------------------------------------------------------------
  // 1. Producer-side enqueue. The queue is not started, so no consumer takes anything: this is the
  //    cost of submit() alone (check, freeze, lock, file in the ready deque). A fresh queue per
  //    iteration, which is one batch per producer thread (single-shot mode), bounds the memory.
  //    Score: milliseconds per batch of ENQUEUE_BATCH submits per thread.
  // ------------------------------------------------------------------------------------------

  /** submit() calls per producer thread per measured batch (full mode; quick mode passes -bs). */
  public static final int ENQUEUE_BATCH = 10_000;

  @State(Scope.Benchmark)
  public static class Unstarted {
    WorkQueue queue;
    final Work noop = ctx -> {};

    @Setup(Level.Iteration)
    public void setUp() {
      queue = Bench.checkRunner(
          WorkQueue.builder("enqueue").capacity(Integer.MAX_VALUE).concurrency(CONCURRENCY).build());
    }

    @TearDown(Level.Iteration)
    public void tearDown() {
      queue.shutdownNow(); // cancels everything it holds, untimed
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 40, batchSize = ENQUEUE_BATCH)
  @Measurement(iterations = 60, batchSize = ENQUEUE_BATCH)
  @Threads(1)
  public Task<?> enqueue_1producer(Unstarted s) {
    return s.queue.submit(s.noop);
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 40, batchSize = ENQUEUE_BATCH)
  @Measurement(iterations = 60, batchSize = ENQUEUE_BATCH)
  @Threads(2)
  public Task<?> enqueue_2producers(Unstarted s) {
    return s.queue.submit(s.noop);
  }

  // ------------------------------------------------------------------------------------------
  // 2. End to end, no-op bodies: submit N, wait for all. Score: tasks per second.
  // ------------------------------------------------------------------------------------------

  /** A started queue whose bodies count down the current batch's latch. */
  @State(Scope.Benchmark)
  public static class Running {
    @Param({"1000", "100"})
    public int concurrency;

    @Param({"10000", "1000"})
    public int capacity;

    /**
     * {@code named}: loomwork's default thread factory, which names every thread {@code
     * loomwork-NAME-N}; {@code unnamed}: {@code Thread.ofVirtual().factory()}, as the raw scope
     * baselines use. Only the default runs unless {@code -p threads=named,unnamed} is passed.
     */
    @Param({"named"})
    public String threads;

    /** The attempt's shape ({@code AttemptScope}); it matters only to the structured runner. */
    @Param({"shared", "nested"})
    public String scope;

    WorkQueue queue;
    CountDownLatch latch; // published to the bodies by the queue's hand-off
    final Work countDown = ctx -> latch.countDown();

    @Setup(Level.Trial)
    public void setUp() {
      WorkQueue.Builder builder =
          WorkQueue.builder("noop").concurrency(concurrency).capacity(capacity).attemptScope(Bench.scope(scope));
      switch (threads) {
        case "named" -> {}
        case "unnamed" -> builder.threadFactory(Thread.ofVirtual().factory());
        default -> throw new IllegalArgumentException("threads: " + threads);
      }
      queue = Bench.checkRunner(builder.build());
      queue.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      Bench.shutdown(queue);
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noop(Running s) throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(N);
    s.latch = latch;
    for (int i = 0; i < N; i++) {
      s.queue.submit(s.countDown);
    }
    Bench.await(latch);
  }

  /**
   * The same as {@link Running} at concurrency 1,000 and capacity 10,000, with typed tasks: a handler
   * registered under a name, a payload encoded at enqueue and decoded at each attempt by a trivial
   * codec (an int as its decimal text). Compare with {@code noop} at those parameters: the
   * difference is the cost of a typed task over a closure.
   */
  @State(Scope.Benchmark)
  public static class Typed {
    static final TaskType<Integer> NOOP =
        TaskType.of(
            "noop",
            new TaskCodec<Integer>() {
              @Override
              public String encode(Integer payload) {
                return payload.toString();
              }

              @Override
              public Integer decode(String json) {
                return Integer.valueOf(json);
              }
            });

    WorkQueue queue;
    CountDownLatch latch;

    @Setup(Level.Trial)
    public void setUp() {
      queue =
          Bench.checkRunner(
              WorkQueue.builder("typed")
                  .concurrency(Bench.CONCURRENCY)
                  .capacity(Bench.CAPACITY)
                  .handle(NOOP, (ctx, i) -> latch.countDown())
                  .build());
      queue.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      Bench.shutdown(queue);
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noopTyped(Typed s) throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(N);
    s.latch = latch;
    for (int i = 0; i < N; i++) {
      s.queue.submit(Typed.NOOP, i);
    }
    Bench.await(latch);
  }

  /**
   * The same as {@link Running} at concurrency 1,000 and capacity 10,000, with Micrometer metrics
   * published to a {@link SimpleMeterRegistry}: compare with {@code noop} at those parameters.
   */
  @State(Scope.Benchmark)
  public static class Metered {
    WorkQueue queue;
    SimpleMeterRegistry registry;
    CountDownLatch latch;
    final Work countDown = ctx -> latch.countDown();

    @Setup(Level.Trial)
    public void setUp() {
      registry = new SimpleMeterRegistry();
      queue = Bench.checkRunner(
          WorkQueue.builder("noop")
              .concurrency(CONCURRENCY)
              .capacity(CAPACITY)
              .meterRegistry(registry)
              .build());
      queue.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      Bench.shutdown(queue);
      double done = registry.get("loomwork.tasks.completed").tag("outcome", "succeeded").functionCounter().count();
      if (done < N) {
        throw new IllegalStateException("the registry saw " + done + " tasks succeed");
      }
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noopMicrometer(Metered s) throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(N);
    s.latch = latch;
    for (int i = 0; i < N; i++) {
      s.queue.submit(s.countDown);
    }
    Bench.await(latch);
  }

  // ------------------------------------------------------------------------------------------
  // 3. Latency at light load: one task at a time. Score: microseconds per task, with percentiles.
  // ------------------------------------------------------------------------------------------

  @State(Scope.Benchmark)
  public static class Light {
    /** The attempt's shape ({@code AttemptScope}); it matters only to the structured runner. */
    @Param({"shared", "nested"})
    public String scope;

    WorkQueue queue;
    final Semaphore started = new Semaphore(0);
    final Work signalStart = ctx -> started.release();
    final Work noop = ctx -> {};

    @Setup(Level.Trial)
    public void setUp() {
      queue = Bench.checkRunner(
          WorkQueue.builder("light").concurrency(CONCURRENCY).capacity(CAPACITY).attemptScope(Bench.scope(scope)).build());
      queue.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      Bench.shutdown(queue);
    }
  }

  /** From submit() to the body's first line. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latency_toStart(Light s) throws InterruptedException {
    s.queue.submit(s.signalStart);
    s.started.acquire();
  }

  /** From submit() to await() returning: the task is done, callbacks run, the future completed. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Object latency_toCompletion(Light s) throws InterruptedException {
    return s.queue.submit(s.noop).await();
  }

  // ------------------------------------------------------------------------------------------
  // 4. I/O-bound: N tasks that each block 1 ms, 1,000 in flight. Score: tasks per second.
  // ------------------------------------------------------------------------------------------

  @State(Scope.Benchmark)
  public static class Io {
    /** The attempt's shape ({@code AttemptScope}); it matters only to the structured runner. */
    @Param({"shared", "nested"})
    public String scope;

    WorkQueue queue;
    CountDownLatch latch;
    final Work sleep1ms =
        ctx -> {
          Thread.sleep(1);
          latch.countDown();
        };

    @Setup(Level.Trial)
    public void setUp() {
      queue = Bench.checkRunner(
          WorkQueue.builder("io").concurrency(CONCURRENCY).capacity(CAPACITY).attemptScope(Bench.scope(scope)).build());
      queue.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      Bench.shutdown(queue);
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void io(Io s) throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(N);
    s.latch = latch;
    for (int i = 0; i < N; i++) {
      s.queue.submit(s.sleep1ms);
    }
    Bench.await(latch);
  }

  // ------------------------------------------------------------------------------------------
  // 5. Retry-heavy: half of the tasks fail their first attempt, no backoff. Score: tasks per second
  //    (tasks, not attempts: 1.5 attempts per task).
  // ------------------------------------------------------------------------------------------

  @State(Scope.Benchmark)
  public static class Retrying {
    WorkQueue queue;
    CountDownLatch latch;
    final Work succeed = ctx -> latch.countDown();
    final Work failOnce =
        ctx -> {
          if (ctx.attempt() == 1) {
            throw Bench.FAIL_ONCE;
          }
          latch.countDown();
        };

    @Setup(Level.Trial)
    public void setUp() {
      queue = Bench.checkRunner(
          WorkQueue.builder("retry")
              .concurrency(CONCURRENCY)
              .capacity(CAPACITY)
              .retryPolicy(RetryPolicy.defaults().withBackoff(Backoff.none()))
              .build());
      queue.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      Bench.shutdown(queue);
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void retryHalfOnce(Retrying s) throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(N);
    s.latch = latch;
    for (int i = 0; i < N; i++) {
      s.queue.submit((i & 1) == 0 ? s.failOnce : s.succeed);
    }
    Bench.await(latch);
  }
}
