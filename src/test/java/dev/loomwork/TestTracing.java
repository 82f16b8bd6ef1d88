package dev.loomwork;

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
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * An {@link ObservationRegistry} whose observations become OpenTelemetry spans, as in a service
 * that runs Micrometer Tracing over OpenTelemetry: the bridge's tracer with W3C propagation, its
 * propagating handlers for producer and consumer observations, and the SDK's in-memory exporter,
 * which keeps each span as it ends. {@link #await} waits for ended spans on a condition.
 */
public final class TestTracing implements AutoCloseable {
  public final ObservationRegistry registry = ObservationRegistry.create();
  public final OtelTracer tracer;
  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private final SdkTracerProvider provider;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition ended = lock.newCondition();

  public TestTracing() {
    provider =
        SdkTracerProvider.builder()
            .addSpanProcessor(SimpleSpanProcessor.create(exporter))
            .addSpanProcessor(new Signal())
            .build();
    io.opentelemetry.api.trace.Tracer otel = provider.get("loomwork-test");
    OtelCurrentTraceContext current = new OtelCurrentTraceContext();
    tracer = new OtelTracer(otel, current, event -> {}, new OtelBaggageManager(current, List.of(), List.of()));
    OtelPropagator propagator =
        new OtelPropagator(ContextPropagators.create(W3CTraceContextPropagator.getInstance()), otel);
    registry
        .observationConfig()
        .observationHandler(
            new ObservationHandler.FirstMatchingCompositeObservationHandler(
                new PropagatingSenderTracingObservationHandler<>(tracer, propagator),
                new PropagatingReceiverTracingObservationHandler<>(tracer, propagator),
                new DefaultTracingObservationHandler(tracer)));
  }

  /** The spans ended so far, in the order they ended. */
  public List<SpanData> spans() {
    return exporter.getFinishedSpanItems();
  }

  /** Waits until {@code count} ended spans match; fails after {@link TestTimeouts#PROCESS}. */
  public List<SpanData> await(Predicate<SpanData> match, int count) throws InterruptedException {
    long nanos = TestTimeouts.PROCESS.toNanos();
    lock.lock();
    try {
      while (true) {
        List<SpanData> found = spans().stream().filter(match).toList();
        if (found.size() >= count) {
          return found;
        }
        if (nanos <= 0) {
          throw new AssertionError("not " + count + " such spans within " + TestTimeouts.PROCESS + ": " + spans());
        }
        nanos = ended.awaitNanos(nanos);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Waits for spans named {@code name}. */
  public List<SpanData> await(String name, int count) throws InterruptedException {
    return await(s -> s.getName().equals(name), count);
  }

  @Override
  public void close() {
    provider.shutdown().join(10, TimeUnit.SECONDS);
  }

  /** One line for a span: name (spaces as underscores), trace id, span id, parent span id, and the outcome key if any. */
  public static String line(SpanData s) {
    return "span " + s.getName().replace(' ', '_') + " " + s.getTraceId() + " " + s.getSpanId() + " " + s.getParentSpanId()
        + " " + s.getAttributes().get(io.opentelemetry.api.common.AttributeKey.stringKey("loomwork.outcome"));
  }

  /** Signals {@link #await} after each span ends (after the exporter, added before it, has it). */
  private final class Signal implements SpanProcessor {
    @Override
    public void onStart(Context parentContext, ReadWriteSpan span) {}

    @Override
    public boolean isStartRequired() {
      return false;
    }

    @Override
    public void onEnd(ReadableSpan span) {
      lock.lock();
      try {
        ended.signalAll();
      } finally {
        lock.unlock();
      }
    }

    @Override
    public boolean isEndRequired() {
      return true;
    }

    @Override
    public CompletableResultCode shutdown() {
      return CompletableResultCode.ofSuccess();
    }
  }

}
