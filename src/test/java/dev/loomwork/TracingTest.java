package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.micrometer.observation.Observation;
import io.micrometer.tracing.Span;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.MDC;

/**
 * Attempts as observations (named {@code loomwork.attempt}; a span is named "QUEUE attempt") (Builder.observationRegistry), seen as OpenTelemetry spans: an attempt's
 * span is a child of the span that was current where its task was enqueued, in scope while its body
 * runs, and a retry is a second attempt span in the same trace. The durable case, where the attempt
 * runs in another process, is {@code postgres.DurableTracingTest}. And the MDC carry-over.
 */
class TracingTest {
  static final AttributeKey<String> QUEUE = AttributeKey.stringKey("loomwork.queue");
  static final AttributeKey<String> HANDLER = AttributeKey.stringKey("loomwork.handler");
  static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("loomwork.outcome");

  final TestTracing tracing = new TestTracing();

  @AfterEach
  void close() {
    tracing.close();
  }

  /** Runs {@code enqueue} inside a started "request" observation in scope; returns its span. */
  SpanData inRequest(Runnable enqueue) throws InterruptedException {
    Observation request = Observation.start("request", tracing.registry);
    try (Observation.Scope ignored = request.openScope()) {
      enqueue.run();
    } finally {
      request.stop();
    }
    return tracing.await("request", 1).getFirst();
  }

  @ParameterizedTest
  @EnumSource(AttemptScope.class)
  void anAttemptIsAChildOfTheSubmittersSpanAndInScopeWhileItsBodyRuns(AttemptScope shape) throws Exception {
    AtomicReference<String> seen = new AtomicReference<>();
    try (WorkQueue q =
        WorkQueue.builder("traced").observationRegistry(tracing.registry).attemptScope(shape).build()) {
      q.start();
      AtomicReference<Task<?>> task = new AtomicReference<>();
      SpanData request =
          inRequest(
              () ->
                  task.set(
                      q.enqueue(
                          Task.of(
                              ctx -> {
                                Span current = tracing.tracer.currentSpan();
                                seen.set(current == null ? null : current.context().spanId());
                              }))));
      task.get().await(GENEROUS);
      SpanData attempt = tracing.await("traced attempt", 1).getFirst();
      assertEquals(request.getTraceId(), attempt.getTraceId(), "the attempt is in the request's trace");
      assertEquals(request.getSpanId(), attempt.getParentSpanId(), "the attempt's parent is the request");
      assertEquals(attempt.getSpanId(), seen.get(), "the body ran with the attempt's span in scope");
      assertEquals("traced", attempt.getAttributes().get(QUEUE));
      assertEquals("closure", attempt.getAttributes().get(HANDLER));
      assertEquals("succeeded", attempt.getAttributes().get(OUTCOME));
    }
  }

  static final TaskCodec<Integer> NUMBER =
      new TaskCodec<>() {
        @Override
        public String encode(Integer payload) {
          return payload.toString();
        }

        @Override
        public Integer decode(String json) {
          return Integer.valueOf(json);
        }
      };

  @Test
  void aRetryIsASecondAttemptSpanInTheSameTrace() throws Exception {
    TaskType<Integer> type = TaskType.of("greet", NUMBER);
    try (WorkQueue q =
        WorkQueue.builder("retried")
            .observationRegistry(tracing.registry)
            .retryPolicy(RetryPolicy.defaults().withRetries(1).withBackoff(Backoff.none()))
            .handle(
                type,
                (ctx, n) -> {
                  if (ctx.attempt() == 1) {
                    throw new IllegalStateException("first attempt fails");
                  }
                })
            .build()) {
      q.start();
      AtomicReference<Task<?>> task = new AtomicReference<>();
      SpanData request = inRequest(() -> task.set(q.enqueue(Task.of(type, 7))));
      task.get().await(GENEROUS);
      List<SpanData> attempts = tracing.await("retried attempt", 2);
      assertEquals(2, attempts.size(), "two attempts, two spans: " + attempts);
      for (SpanData a : attempts) {
        assertEquals(request.getTraceId(), a.getTraceId(), "every attempt is in the request's trace");
        assertEquals(request.getSpanId(), a.getParentSpanId(), "every attempt's parent is the request");
        assertEquals("greet", a.getAttributes().get(HANDLER));
      }
      assertEquals("failed", attempts.get(0).getAttributes().get(OUTCOME));
      assertEquals(io.opentelemetry.api.trace.StatusCode.ERROR, attempts.get(0).getStatus().getStatusCode());
      assertEquals("succeeded", attempts.get(1).getAttributes().get(OUTCOME));
    }
  }

  @Test
  void aTaskEnqueuedOutsideAnyObservationStartsATraceOfItsOwn() throws Exception {
    try (WorkQueue q = WorkQueue.builder("root").observationRegistry(tracing.registry).build()) {
      q.start();
      q.enqueue(Task.of(ctx -> {})).await(GENEROUS);
      SpanData attempt = tracing.await("root attempt", 1).getFirst();
      assertEquals(io.opentelemetry.api.trace.SpanId.getInvalid(), attempt.getParentSpanId(), "a root span");
    }
  }

  @Test
  void theRegistryIsCheckedAtTheCall() {
    NullPointerException e =
        assertThrows(NullPointerException.class, () -> WorkQueue.builder("q").observationRegistry(null));
    assertEquals("registry", e.getMessage());
  }

  @Test
  void carryMdcGivesTheBodyTheSubmittersMdcAndWithoutItTheBodyHasNone() throws Exception {
    Map<String, String> seen = new ConcurrentHashMap<>();
    try (WorkQueue carried = WorkQueue.builder("carried").carryMdc().build();
        WorkQueue plain = WorkQueue.builder("plain").build()) {
      carried.start();
      plain.start();
      MDC.put("request", "r-17");
      try {
        Task<?> a = carried.enqueue(Task.of(ctx -> seen.put("carried", String.valueOf(MDC.get("request")))));
        Task<?> b = plain.enqueue(Task.of(ctx -> seen.put("plain", String.valueOf(MDC.get("request")))));
        MDC.put("request", "r-18"); // a later change of the submitter's MDC is not the task's
        a.await(GENEROUS);
        b.await(GENEROUS);
      } finally {
        MDC.remove("request");
      }
      assertEquals("r-17", seen.get("carried"));
      assertEquals("null", seen.get("plain"));
      assertNull(MDC.get("request"));
    }
  }
}
