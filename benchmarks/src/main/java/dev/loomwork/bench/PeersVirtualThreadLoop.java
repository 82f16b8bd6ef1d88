package dev.loomwork.bench;

import static dev.loomwork.bench.Bench.CONCURRENCY;
import static dev.loomwork.bench.Bench.N;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
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
 * The hand-written peer: a virtual thread per task ({@code
 * Executors.newVirtualThreadPerTaskExecutor()}) whose body is a plain retry loop: try the body; on an
 * exception, if retries are left, {@code Thread.sleep} the fixed {@link Bench#RETRY_BACKOFF} and try
 * again ({@link Bench#RETRIES} retries). The same loop wraps every workload's body. A semaphore
 * bounds it to {@link Bench#CONCURRENCY} in flight; a waiting retry keeps its thread (parked) and
 * its permit. {@link Baselines#retryHalfOnce_virtualPerTaskLoop} is the same loop without the
 * backoff, as a floor.
 */
public class PeersVirtualThreadLoop extends Peers {

  /** A body that the loop retries. */
  interface Body {
    void run() throws Exception;
  }

  /** A give-up for the light-load tasks, which never fail: it fails the task's future. */
  static final Consumer<Throwable> RETHROW =
      e -> {
        throw new IllegalStateException("gave up", e);
      };

  /** The retry loop, run on the task's virtual thread. */
  static void retryLoop(Body body, Consumer<Throwable> gaveUp) {
    for (int attempt = 1; ; attempt++) {
      try {
        body.run();
        return;
      } catch (Exception e) {
        if (attempt > Bench.RETRIES) {
          gaveUp.accept(e);
          return;
        }
        try {
          Thread.sleep(Bench.RETRY_BACKOFF);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          gaveUp.accept(interrupted);
          return;
        }
      }
    }
  }

  /** A virtual thread per task executor. */
  @State(Scope.Benchmark)
  public static class Runner {
    ExecutorService executor;
    final Semaphore permits = new Semaphore(CONCURRENCY);
    Plan last;
    final Singles singles = new Singles();

    @Setup(Level.Trial)
    public void setUp() {
      executor = Executors.newVirtualThreadPerTaskExecutor();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      close(executor);
      if (last != null) {
        last.verify();
      }
      singles.verify();
    }

    /** Submits task {@code i} without a limit in flight (enqueue). */
    void submit(Plan plan, int i) {
      executor.execute(() -> retryLoop(() -> plan.run(i), plan::gaveUp));
    }

    /** Runs one end-to-end batch, at most {@link Bench#CONCURRENCY} tasks in flight. */
    void batch(Plan plan, boolean io) throws InterruptedException {
      last = plan;
      Semaphore permits = this.permits;
      Consumer<Throwable> gaveUp = plan::gaveUp;
      for (int i = 0; i < plan.tasks(); i++) {
        int task = i;
        Body body = io ? () -> plan.runAfterIo(task) : () -> plan.run(task);
        permits.acquire();
        executor.execute(
            () -> {
              try {
                retryLoop(body, gaveUp);
              } finally {
                permits.release();
              }
            });
      }
      plan.awaitAndVerify();
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 40, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Measurement(iterations = 60, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Threads(1)
  public void enqueueDraining_1producer(Runner s, ProducerBatch p) {
    s.submit(p.plan, p.next++);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noop(Runner s) throws InterruptedException {
    s.batch(Plan.allSucceed(N), false);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void io(Runner s) throws InterruptedException {
    s.batch(Plan.allSucceed(N), true);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void retryHalfOnce(Runner s) throws InterruptedException {
    s.batch(Plan.halfFailOnce(N), false);
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latency_toStart(Runner s) throws InterruptedException {
    Semaphore started = s.singles.started;
    s.executor.execute(() -> retryLoop(started::release, RETHROW));
    started.acquire();
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Object latency_toCompletion(Runner s) throws InterruptedException, ExecutionException {
    Runnable ran = s.singles.ran::increment;
    Object result = s.executor.submit(() -> retryLoop(ran::run, RETHROW)).get();
    s.singles.completionsAwaited++;
    return result;
  }
}
