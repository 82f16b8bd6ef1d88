package dev.loomwork.bench;

import static dev.loomwork.bench.Bench.CONCURRENCY;
import static dev.loomwork.bench.Bench.N;

import io.github.resilience4j.core.functions.CheckedRunnable;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
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
 * resilience4j-retry 2.4.0: the task decorated with a {@link Retry} ({@code
 * Retry.decorateCheckedRunnable}; {@link Bench#RETRIES} + 1 attempts at most, a fixed {@link
 * Bench#RETRY_BACKOFF} wait, any exception retried) and run on {@code
 * Executors.newVirtualThreadPerTaskExecutor()}, on every workload. The decoration is synchronous: the
 * retries run on the task's own virtual thread, which waits out the backoff in {@code Thread.sleep}
 * (parked, not pinned). No limit in flight of its own: a semaphore bounds it to {@link
 * Bench#CONCURRENCY}, released when the decorated task returns.
 */
public class PeersResilience4j extends Peers {

  /** One Retry instance (it keeps its metrics) over a virtual thread per task executor. */
  @State(Scope.Benchmark)
  public static class Runner {
    ExecutorService executor;
    Retry retry;
    final Semaphore permits = new Semaphore(CONCURRENCY);
    Plan last;
    final Singles singles = new Singles();

    @Setup(Level.Trial)
    public void setUp() {
      executor = Executors.newVirtualThreadPerTaskExecutor();
      retry =
          Retry.of(
              "bench",
              RetryConfig.custom()
                  .maxAttempts(Bench.RETRIES + 1)
                  .waitDuration(Bench.RETRY_BACKOFF)
                  .build());
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
      CheckedRunnable decorated = Retry.decorateCheckedRunnable(retry, () -> plan.run(i));
      executor.execute(
          () -> {
            try {
              decorated.run();
            } catch (Throwable e) {
              plan.gaveUp(e);
            }
          });
    }

    /** Runs one end-to-end batch, at most {@link Bench#CONCURRENCY} tasks in flight. */
    void batch(Plan plan, boolean io) throws InterruptedException {
      last = plan;
      Semaphore permits = this.permits;
      for (int i = 0; i < plan.tasks(); i++) {
        int task = i;
        CheckedRunnable decorated =
            Retry.decorateCheckedRunnable(
                retry, io ? () -> plan.runAfterIo(task) : () -> plan.run(task));
        permits.acquire();
        executor.execute(
            () -> {
              try {
                decorated.run();
              } catch (Throwable e) {
                plan.gaveUp(e);
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
    s.executor.execute(Retry.decorateRunnable(s.retry, () -> started.release()));
    started.acquire();
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Object latency_toCompletion(Runner s) throws InterruptedException, ExecutionException {
    Object result = s.executor.submit(Retry.decorateRunnable(s.retry, s.singles.ran::increment)).get();
    s.singles.completionsAwaited++;
    return result;
  }
}
