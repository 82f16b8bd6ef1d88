package dev.loomwork.bench;

import static dev.loomwork.bench.Bench.CONCURRENCY;
import static dev.loomwork.bench.Bench.N;

import java.util.concurrent.CompletableFuture;
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
import org.openjdk.jmh.infra.IterationParams;

/**
 * kotlinx.coroutines 1.10.2: a worker pool of {@link Bench#CONCURRENCY} coroutines reading one
 * unlimited channel ({@link CoroutinePool}, in Kotlin), retrying a failed attempt in place after
 * {@code delay(1 ms)}, {@link Bench#RETRIES} times. The workers are the limit in flight, so no
 * semaphore. The workers run on {@code Dispatchers.Default} for the bodies that do not block (enqueue,
 * no-op, retry-heavy, latency), and on a dispatcher over a virtual thread per task executor for the
 * 1 ms blocking I/O body ({@code Thread.sleep}, as every other runner's): on {@code Dispatchers.Default}
 * a blocking body would block one of its two threads, and {@code Dispatchers.IO} caps at 64
 * threads, i.e. 64 k tasks/s at 1 ms.
 */
public class PeersCoroutines extends Peers {

  /** The pool on {@code Dispatchers.Default}. */
  @State(Scope.Benchmark)
  public static class Runner {
    CoroutinePool pool;
    Plan last;
    final Singles singles = new Singles();

    @Setup(Level.Trial)
    public void setUp() {
      pool = CoroutinePool.onDefault(CONCURRENCY, Bench.RETRIES, Bench.RETRY_BACKOFF);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pool.close();
      if (last != null) {
        last.verify();
      }
      singles.verify();
    }
  }

  /** The pool on a virtual thread per task executor, for the blocking I/O body. */
  @State(Scope.Benchmark)
  public static class IoRunner {
    ExecutorService executor;
    CoroutinePool pool;
    Plan last;

    @Setup(Level.Trial)
    public void setUp() {
      executor = Executors.newVirtualThreadPerTaskExecutor();
      pool = CoroutinePool.onExecutor(CONCURRENCY, Bench.RETRIES, Bench.RETRY_BACKOFF, executor);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      pool.close();
      close(executor);
      if (last != null) {
        last.verify();
      }
    }
  }

  /** The producer's batch of one iteration: its plan, and the next task's index. */
  @State(Scope.Thread)
  public static class Producer {
    Plan plan;
    Consumer<Throwable> gaveUp;
    int next;

    @Setup(Level.Iteration)
    public void setUp(IterationParams params) {
      plan = Plan.allSucceed(params.getBatchSize());
      gaveUp = plan::gaveUp;
      next = 0;
    }

    @TearDown(Level.Iteration)
    public void tearDown() throws InterruptedException {
      plan.awaitAndVerify();
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 40, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Measurement(iterations = 60, batchSize = LoomworkBenchmarks.ENQUEUE_BATCH)
  @Threads(1)
  public void enqueueDraining_1producer(Runner s, Producer p) {
    Plan plan = p.plan;
    int task = p.next++;
    s.pool.submit(() -> plan.run(task), p.gaveUp);
  }

  static void batch(CoroutinePool pool, Plan plan, boolean io) throws InterruptedException {
    Consumer<Throwable> gaveUp = plan::gaveUp;
    for (int i = 0; i < plan.tasks(); i++) {
      int task = i;
      pool.submit(io ? () -> plan.runAfterIo(task) : () -> plan.run(task), gaveUp);
    }
    plan.awaitAndVerify();
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noop(Runner s) throws InterruptedException {
    batch(s.pool, s.last = Plan.allSucceed(N), false);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void io(IoRunner s) throws InterruptedException {
    batch(s.pool, s.last = Plan.allSucceed(N), true);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void retryHalfOnce(Runner s) throws InterruptedException {
    batch(s.pool, s.last = Plan.halfFailOnce(N), false);
  }

  /** Fails the light-load benchmark: those tasks never fail. */
  static final Consumer<Throwable> UNEXPECTED =
      e -> {
        throw new IllegalStateException("gave up", e);
      };

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latency_toStart(Runner s) throws InterruptedException {
    Semaphore started = s.singles.started;
    s.pool.submit(started::release, UNEXPECTED);
    started.acquire();
  }

  /** Completion: a future that the task completes after its body, as a caller would await it. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Object latency_toCompletion(Runner s) throws InterruptedException, ExecutionException {
    CompletableFuture<Object> done = new CompletableFuture<>();
    s.pool.submit(
        () -> {
          s.singles.ran.increment();
          done.complete(null);
        },
        done::completeExceptionally);
    Object result = done.get();
    s.singles.completionsAwaited++;
    return result;
  }
}
