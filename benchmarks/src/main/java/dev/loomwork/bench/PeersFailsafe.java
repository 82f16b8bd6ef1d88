package dev.loomwork.bench;

import static dev.loomwork.bench.Bench.CONCURRENCY;
import static dev.loomwork.bench.Bench.N;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import dev.failsafe.function.CheckedRunnable;
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
 * Failsafe 3.3.2: {@code Failsafe.with(retryPolicy).with(virtualThreadExecutor).runAsync(task)}, the
 * retry policy {@link Bench#RETRIES} retries at a fixed {@link Bench#RETRY_BACKOFF} delay, on every
 * workload (a user configures one executor). Failsafe has no limit in flight: a semaphore bounds it
 * to {@link Bench#CONCURRENCY}, released when the task's future completes.
 *
 * <p>How Failsafe runs it: every attempt, the first included, is an {@code
 * ExecutorService.submit} to the executor given, so one new virtual thread per attempt. A retry's
 * delay does not hold a thread: Failsafe schedules it on its one shared platform thread ({@code
 * FailsafeDelayScheduler}, a {@code ScheduledThreadPoolExecutor(1)} in {@code DelegatingScheduler}),
 * which then submits the next attempt to the executor. A waiting retry holds its semaphore permit
 * here (the permit is the task's, released when its future completes).
 */
public class PeersFailsafe extends Peers {

  /** A Failsafe executor over a virtual thread per task executor. */
  @State(Scope.Benchmark)
  public static class Runner {
    ExecutorService executor;
    FailsafeExecutor<Object> failsafe;
    final Semaphore permits = new Semaphore(CONCURRENCY);
    Plan last;
    final Singles singles = new Singles();

    @Setup(Level.Trial)
    public void setUp() {
      executor = Executors.newVirtualThreadPerTaskExecutor();
      RetryPolicy<Object> retryPolicy =
          RetryPolicy.builder()
              .withMaxRetries(Bench.RETRIES)
              .withDelay(Bench.RETRY_BACKOFF)
              .build();
      failsafe = Failsafe.with(retryPolicy).with(executor);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      close(executor);
      if (last != null) {
        last.verify(); // again, now that nothing runs: no stray attempt came late
      }
      singles.verify();
    }

    /** Submits task {@code i} without a limit in flight (enqueue). */
    void submit(Plan plan, int i) {
      failsafe
          .runAsync(() -> plan.run(i))
          .whenComplete(
              (r, e) -> {
                if (e != null) {
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
        CheckedRunnable body = io ? () -> plan.runAfterIo(task) : () -> plan.run(task);
        permits.acquire();
        failsafe
            .runAsync(body)
            .whenComplete(
                (r, e) -> {
                  permits.release();
                  if (e != null) {
                    plan.gaveUp(e);
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
    s.failsafe.runAsync(() -> started.release());
    started.acquire();
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Object latency_toCompletion(Runner s) throws InterruptedException, ExecutionException {
    Object result = s.failsafe.runAsync(() -> s.singles.ran.increment()).get();
    s.singles.completionsAwaited++;
    return result;
  }
}
