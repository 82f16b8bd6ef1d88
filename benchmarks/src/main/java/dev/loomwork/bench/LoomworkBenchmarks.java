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
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingReceiverTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingSenderTracingObservationHandler;
import io.micrometer.tracing.otel.bridge.OtelBaggageManager;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelPropagator;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
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

  /**
   * The same batches submitted to a started queue, which drains them while the producer submits,
   * as the peers' executors do ({@code Peers*.enqueueDraining_1producer}): the producer shares the
   * cores with the workers. Each iteration's tasks are waited for and checked (untimed).
   */
  @State(Scope.Benchmark)
  public static class Draining {
    WorkQueue queue;

    @Setup(Level.Trial)
    public void setUp() {
      queue = Bench.checkRunner(
          WorkQueue.builder("enqueue").capacity(Integer.MAX_VALUE).concurrency(CONCURRENCY).build());
      queue.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      Bench.shutdown(queue);
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 40, batchSize = ENQUEUE_BATCH)
  @Measurement(iterations = 60, batchSize = ENQUEUE_BATCH)
  @Threads(1)
  public Task<?> enqueueDraining_1producer(Draining s, ProducerBatch p) {
    Plan plan = p.plan;
    int task = p.next++;
    return s.queue.submit(ctx -> plan.run(task));
  }

  // ------------------------------------------------------------------------------------------
  // 2. End to end, no-op bodies: submit N, wait for all. Score: tasks per second.
  // ------------------------------------------------------------------------------------------

  /** A started queue; each batch's bodies run through its {@link Plan}. */
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
    runBatch(s.queue, Plan.allSucceed(N), false);
  }

  /**
   * Submits each task of the plan as a closure over its index (the no-op body, or the I/O body),
   * and waits for all; throws unless every task ran as planned.
   */
  static void runBatch(WorkQueue queue, Plan plan, boolean io) throws InterruptedException {
    for (int i = 0; i < plan.tasks(); i++) {
      int task = i;
      queue.submit(io ? ctx -> plan.runAfterIo(task) : ctx -> plan.run(task));
    }
    plan.awaitAndVerify();
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
    Plan plan; // published to the bodies by the queue's hand-off

    @Setup(Level.Trial)
    public void setUp() {
      queue =
          Bench.checkRunner(
              WorkQueue.builder("typed")
                  .concurrency(Bench.CONCURRENCY)
                  .capacity(Bench.CAPACITY)
                  .handle(NOOP, (ctx, i) -> plan.run(i))
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
    Plan plan = Plan.allSucceed(N);
    s.plan = plan;
    for (int i = 0; i < N; i++) {
      s.queue.submit(Typed.NOOP, i);
    }
    plan.awaitAndVerify();
  }

  /**
   * The same as {@link Running} at concurrency 1,000 and capacity 10,000, with Micrometer metrics
   * published to a {@link SimpleMeterRegistry}: compare with {@code noop} at those parameters.
   */
  @State(Scope.Benchmark)
  public static class Metered {
    WorkQueue queue;
    SimpleMeterRegistry registry;

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
    runBatch(s.queue, Plan.allSucceed(N), false);
  }

  /**
   * The same as {@link Running} at concurrency 1,000 and capacity 10,000, observed (Micrometer
   * Observation, {@code WorkQueue.Builder.observationRegistry}): {@code none}, no registry (the
   * default, and the baseline); {@code noop}, {@link ObservationRegistry#NOOP}; {@code meter}, a
   * registry whose {@link DefaultMeterObservationHandler} times every attempt in a {@link
   * SimpleMeterRegistry}; {@code tracing}, Micrometer Tracing over the OpenTelemetry SDK, as a Spring
   * Boot service with tracing has it: every attempt a span, started, ended and handed to a span
   * processor (which counts it; no exporter). No submitter has a current observation, so each
   * attempt's span is a root.
   */
  @State(Scope.Benchmark)
  public static class Observed {
    @Param({"none", "noop", "meter", "tracing"})
    public String observation;

    WorkQueue queue;
    SimpleMeterRegistry meters;
    SdkTracerProvider tracerProvider;
    final LongAdder spans = new LongAdder();

    @Setup(Level.Trial)
    public void setUp() {
      WorkQueue.Builder b = WorkQueue.builder("observed").concurrency(CONCURRENCY).capacity(CAPACITY);
      switch (observation) {
        case "none" -> {}
        case "noop" -> b.observationRegistry(ObservationRegistry.NOOP);
        case "meter" -> {
          meters = new SimpleMeterRegistry();
          ObservationRegistry registry = ObservationRegistry.create();
          registry.observationConfig().observationHandler(new DefaultMeterObservationHandler(meters));
          b.observationRegistry(registry);
        }
        case "tracing" -> b.observationRegistry(tracing());
        default -> throw new IllegalArgumentException("observation: " + observation);
      }
      queue = Bench.checkRunner(b.build());
      queue.start();
    }

    private ObservationRegistry tracing() {
      tracerProvider = SdkTracerProvider.builder().addSpanProcessor(new CountingProcessor(spans)).build();
      io.opentelemetry.api.trace.Tracer otel = tracerProvider.get("loomwork-bench");
      OtelCurrentTraceContext current = new OtelCurrentTraceContext();
      OtelTracer tracer =
          new OtelTracer(otel, current, event -> {}, new OtelBaggageManager(current, List.of(), List.of()));
      OtelPropagator propagator =
          new OtelPropagator(ContextPropagators.create(W3CTraceContextPropagator.getInstance()), otel);
      ObservationRegistry registry = ObservationRegistry.create();
      registry
          .observationConfig()
          .observationHandler(
              new ObservationHandler.FirstMatchingCompositeObservationHandler(
                  new PropagatingSenderTracingObservationHandler<>(tracer, propagator),
                  new PropagatingReceiverTracingObservationHandler<>(tracer, propagator),
                  new DefaultTracingObservationHandler(tracer)));
      return registry;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      Bench.shutdown(queue);
      switch (observation) {
        case "meter" -> {
          long timed = meters.find("loomwork.attempt").timers().stream().mapToLong(Timer::count).sum();
          if (timed < N) {
            throw new IllegalStateException("the meter handler timed " + timed + " attempts: " + meters.getMetersAsString());
          }
        }
        case "tracing" -> {
          tracerProvider.close();
          if (spans.sum() < N) {
            throw new IllegalStateException("the tracer ended " + spans.sum() + " spans");
          }
        }
        default -> {}
      }
    }
  }

  /** Counts the spans that end; keeps none. */
  static final class CountingProcessor implements SpanProcessor {
    private final LongAdder ended;

    CountingProcessor(LongAdder ended) {
      this.ended = ended;
    }

    @Override
    public void onStart(Context parentContext, ReadWriteSpan span) {}

    @Override
    public boolean isStartRequired() {
      return false;
    }

    @Override
    public void onEnd(ReadableSpan span) {
      ended.increment();
    }

    @Override
    public boolean isEndRequired() {
      return true;
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(N)
  public void noopObserved(Observed s) throws InterruptedException {
    runBatch(s.queue, Plan.allSucceed(N), false);
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
    /** Each task ran exactly once, checked at the end like the peers' ({@link Peers.Singles}). */
    final Peers.Singles singles = new Peers.Singles();
    final Work signalStart = ctx -> singles.started.release();
    final Work noop = ctx -> singles.ran.increment();

    @Setup(Level.Trial)
    public void setUp() {
      queue = Bench.checkRunner(
          WorkQueue.builder("light").concurrency(CONCURRENCY).capacity(CAPACITY).attemptScope(Bench.scope(scope)).build());
      queue.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      Bench.shutdown(queue);
      singles.verify();
    }
  }

  /** From submit() to the body's first line. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latency_toStart(Light s) throws InterruptedException {
    s.queue.submit(s.signalStart);
    s.singles.started.acquire();
  }

  /**
   * From submit() to the body's first line, on a queue that was idle before the probe ({@link Idle}):
   * the start from rest, which wakes the queue's threads.
   */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latencyIdle_toStart(Light s, Idle idle) throws InterruptedException {
    s.queue.submit(s.signalStart);
    s.singles.started.acquire();
  }

  /** From submit() to await() returning: the task is done, callbacks run, the future completed. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Object latency_toCompletion(Light s) throws InterruptedException {
    Object result = s.queue.submit(s.noop).await();
    s.singles.completionsAwaited++;
    return result;
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
    runBatch(s.queue, Plan.allSucceed(N), true);
  }

  // ------------------------------------------------------------------------------------------
  // 5. Retry-heavy: half of the tasks fail their first attempt and are retried after a fixed 1 ms
  //    backoff (Bench.RETRIES retries, Bench.RETRY_BACKOFF), as in every peer. Score: tasks per
  //    second (tasks, not attempts: 1.5 attempts per task).
  // ------------------------------------------------------------------------------------------

  @State(Scope.Benchmark)
  public static class Retrying {
    WorkQueue queue;

    @Setup(Level.Trial)
    public void setUp() {
      queue = Bench.checkRunner(
          WorkQueue.builder("retry")
              .concurrency(CONCURRENCY)
              .capacity(CAPACITY)
              .retryPolicy(
                  RetryPolicy.defaults()
                      .withRetries(Bench.RETRIES)
                      .withBackoff(Backoff.fixed(Bench.RETRY_BACKOFF)))
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
    runBatch(s.queue, Plan.halfFailOnce(N), false);
  }
}
