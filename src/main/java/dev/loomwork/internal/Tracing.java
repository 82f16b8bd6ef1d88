package dev.loomwork.internal;

import dev.loomwork.WorkQueueListener.AttemptOutcome;
import io.micrometer.common.KeyValue;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.transport.Kind;
import io.micrometer.observation.transport.ReceiverContext;
import io.micrometer.observation.transport.SenderContext;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A queue's attempts as Micrometer observations, and the trace context a task carries from the
 * thread that enqueued it to its attempts.
 *
 * <p>Only a queue built with an {@code ObservationRegistry} has one; the engine reaches it through
 * a nullable field, so a queue without one never loads this class nor any Micrometer class, and its
 * attempts allocate nothing for tracing.
 *
 * <ul>
 *   <li>A task of this process's memory captures the submitter's current observation at
 *       acceptance ({@link #capture()}); each attempt is an observation whose parent is that one,
 *       so the attempts, retries included, sit in the submitter's trace.
 *   <li>A durable task carries the W3C trace context ({@code traceparent}, {@code tracestate}) in
 *       its row: the store's enqueue runs as a {@code loomwork.enqueue} observation of kind producer
 *       ({@link #enqueue}), whose tracing handler writes the headers into a map; an attempt, in any
 *       process, is an observation of kind consumer whose tracing handler reads them back ({@link
 *       #start}), so it continues the enqueueing request's trace.
 * </ul>
 *
 * Keys: low cardinality only, {@code loomwork.queue}, {@code loomwork.handler} (a typed task's
 * handler name, or {@code closure}) and, at the end, {@code loomwork.outcome} (the attempt's outcome,
 * lower case). Task names and ids are not keys: they are unbounded.
 *
 * <p>Thread-safe: the registry is; an attempt's observation is started, scoped and stopped by its
 * attempt, and the scope is opened on the thread that runs the body.
 */
public final class Tracing {
  /** The name of an attempt's observation. */
  public static final String ATTEMPT = "loomwork.attempt";

  /** The name of a durable enqueue's observation. */
  public static final String ENQUEUE = "loomwork.enqueue";

  /** The handler key's value for a closure. */
  static final String CLOSURE = "closure";

  private final ObservationRegistry registry;
  private final String queue;

  /**
   * The tracing of a queue. Only constructed with a registry: loading this class loads Micrometer's.
   *
   * @param registry where the observations go: an {@code ObservationRegistry}, typed {@code Object}
   *     so that the engine's classes name no Micrometer type
   * @param queue the queue's name
   */
  Tracing(Object registry, String queue) {
    this.registry = (ObservationRegistry) registry;
    this.queue = queue;
  }

  /** The submitter's current observation, or null: what a task of this process's memory keeps. */
  @Nullable Object capture() {
    return registry.getCurrentObservation();
  }

  /**
   * Starts the observation of an attempt of {@code t}; its parent is the task's captured
   * observation (a task in memory) or the trace context of its row (a durable task). Never throws:
   * a failing registry is logged and the attempt runs unobserved.
   */
  @Nullable Object start(TaskCore<?> t) {
    try {
      Object trace = t.trace;
      String handler = t.handler();
      Observation o;
      if (trace instanceof TraceContext tc) {
        Supplier<ReceiverContext<Map<String, String>>> context =
            () -> {
              ReceiverContext<Map<String, String>> c =
                  new ReceiverContext<>((carrier, key) -> carrier.get(key), Kind.CONSUMER);
              c.setCarrier(tc.headers());
              c.setRemoteServiceName("loomwork");
              return c;
            };
        o = Observation.createNotStarted(ATTEMPT, context, registry);
      } else {
        o = Observation.createNotStarted(ATTEMPT, registry);
        if (trace instanceof Observation parent) {
          o.parentObservation(parent);
        }
      }
      o.contextualName(queue + " attempt")
          .lowCardinalityKeyValue(KeyValue.of("loomwork.queue", queue))
          .lowCardinalityKeyValue(KeyValue.of("loomwork.handler", handler == null ? CLOSURE : handler));
      return o.start();
    } catch (RuntimeException e) {
      Log.LOG.warn("queue '{}': could not start the observation of an attempt", queue, e);
      return null;
    }
  }

  /** Opens the attempt's scope (an {@code Observation.Scope}) on the body's thread; null if it could not. */
  static @Nullable Object open(Object observation) {
    try {
      return ((Observation) observation).openScope();
    } catch (RuntimeException e) {
      Log.LOG.warn("could not open the scope of an attempt's observation", e);
      return null;
    }
  }

  /** Closes what {@link #open} opened. */
  static void close(@Nullable Object scope) {
    if (scope != null) {
      try {
        ((Observation.Scope) scope).close();
      } catch (RuntimeException e) {
        Log.LOG.warn("could not close the scope of an attempt's observation", e);
      }
    }
  }

  /** Stops an attempt's observation (as {@link #start} returned it) with its outcome and error. Never throws. */
  void stop(Object observation, AttemptOutcome outcome, @Nullable Throwable error) {
    try {
      Observation o = (Observation) observation;
      o.lowCardinalityKeyValue(KeyValue.of("loomwork.outcome", outcome.name().toLowerCase(Locale.ROOT)));
      if (error != null) {
        o.error(error);
      }
      o.stop();
    } catch (RuntimeException e) {
      Log.LOG.warn("queue '{}': could not stop the observation of an attempt", queue, e);
    }
  }

  /**
   * Runs a durable enqueue as a {@code loomwork.enqueue} observation of kind producer, child of the
   * caller's current one, and returns the trace context the registry's propagating handler wrote
   * for it (empty without a tracing handler). {@code insert} receives that context.
   *
   * @param registry the store's registry
   * @param queue the queue's name
   * @param handler the task's handler
   * @param insert the enqueue itself
   * @return what {@code insert} returned
   * @throws Exception what {@code insert} threw; the observation records it
   */
  public static <R> R enqueue(
      Object registry, String queue, String handler, Insert<R> insert) throws Exception {
    Map<String, String> headers = new HashMap<>(4);
    SenderContext<Map<String, String>> context =
        new SenderContext<>((carrier, key, value) -> carrier.put(key, value), Kind.PRODUCER);
    context.setCarrier(headers);
    context.setRemoteServiceName("loomwork");
    Observation o =
        Observation.createNotStarted(ENQUEUE, () -> context, (ObservationRegistry) registry)
            .contextualName(queue + " enqueue")
            .lowCardinalityKeyValue(KeyValue.of("loomwork.queue", queue))
            .lowCardinalityKeyValue(KeyValue.of("loomwork.handler", handler))
            .start();
    Observation.Scope scope = o.openScope();
    try {
      return insert.insert(TraceContext.of(headers));
    } catch (Exception | Error e) {
      o.error(e);
      throw e;
    } finally {
      scope.close();
      o.stop();
    }
  }

  /** The enqueue that {@link #enqueue} observes. */
  @FunctionalInterface
  public interface Insert<R> {
    /**
     * Inserts the task.
     *
     * @param trace the trace context to store with it, or null
     * @return the result
     * @throws Exception what the insert throws
     */
    R insert(@Nullable TraceContext trace) throws Exception;
  }

  /**
   * The W3C trace context of a durable task, as its row keeps it.
   *
   * @param traceparent the {@code traceparent} header
   * @param tracestate the {@code tracestate} header, or null
   */
  public record TraceContext(String traceparent, @Nullable String tracestate) {
    /** The context in {@code headers}, or null if it has no {@code traceparent}. */
    static @Nullable TraceContext of(Map<String, String> headers) {
      String parent = headers.get("traceparent");
      if (parent == null || parent.isEmpty()) {
        return null;
      }
      String state = headers.get("tracestate");
      return new TraceContext(parent, state == null || state.isEmpty() ? null : state);
    }

    /** The context read from a row, or null if it has none. */
    public static @Nullable TraceContext of(@Nullable String traceparent, @Nullable String tracestate) {
      return traceparent == null ? null : new TraceContext(traceparent, tracestate);
    }

    Map<String, String> headers() {
      return tracestate == null
          ? Map.of("traceparent", traceparent)
          : Map.of("traceparent", traceparent, "tracestate", tracestate);
    }
  }
}
