package dev.loomwork.internal;

import dev.loomwork.QueueLifecycle;
import dev.loomwork.WorkQueueListener.AttemptOutcome;
import dev.loomwork.internal.Counts.Count;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The Micrometer binding. Every meter carries the tag {@code queue}; the only other tags, {@code
 * outcome}, {@code reason} and {@code state}, take a handful of fixed values, and the two timers carry
 * {@code handler}: the name a typed task's handler is registered under, or {@value #NO_HANDLER} for a
 * closure. Task names and error messages never become tags.
 *
 * <p>The handlers are the ones the queue registered at build (a typed task runs only under a
 * registered name), so each timer is registered up front for each of them and for closures: the
 * tag's values are as many as the queue's handlers, and every meter of a name has the same tag keys,
 * as Prometheus requires. The counters and gauges read the engine's counts, which are per queue, so
 * they carry no handler; a handler's attempts by outcome are its attempt timer's count.
 *
 * <p>The engine already counts tasks, attempts and retries under its lock, so the counters and
 * gauges are function meters that read those counts when the registry is scraped: on the hot path
 * they cost nothing. Only the timers are recorded per task, called straight from the engine with raw
 * nanoseconds (no listener fan-out, no {@code Duration}), and the rejection counters per refusal. A
 * registry that throws is logged once per meter and never harms the queue. The function meters hold
 * the books weakly, as Micrometer's do by default, so a forgotten queue can still be collected.
 *
 * <p>The meters it registered are kept in {@link #meters()}, so that {@link MeterNames} can remove
 * them when a queue of the same name replaces this one in the registry.
 */
final class QueueMetrics {
  private static final Logger log = Log.LOG;

  static final String WAIT = "loomwork.tasks.wait";
  static final String ATTEMPT_DURATION = "loomwork.attempts.duration";
  static final String REJECTED = "loomwork.tasks.rejected";

  /**
   * The {@code handler} tag of a closure's timers: not blank, which Prometheus would read as no tag
   * at all (a handler registered under this very name shares them).
   */
  static final String NO_HANDLER = "-";

  private static final String COMPLETED = "Tasks that reached a terminal state";
  private static final String ATTEMPTS = "Attempts that ended";

  private final MeterRegistry registry;
  private final String queue;
  private final Tags tags;
  private final int capacity;
  private final int concurrency;
  private final Set<String> reported = ConcurrentHashMap.newKeySet();
  /** Every meter registered for this queue, in order; written only while the queue is built. */
  private final List<Meter> meters = new ArrayList<>();
  /** Each handler's timers, by handler name; {@link #closures} for a task with no handler. */
  private final Map<String, HandlerTimers> timers;
  private final HandlerTimers closures;
  /** The rejection counter of each reason, by {@link Refusal#ordinal()}; none for {@code INTERRUPTED}. */
  private final Counter[] rejected = new Counter[Refusal.values().length];

  /**
   * The wait timer and the attempt timer of each outcome, by {@link AttemptOutcome#ordinal()}, of one
   * handler.
   */
  private record HandlerTimers(Timer waitTimer, Timer[] attempts) {}

  /**
   * Registers the queue's timers, for each of {@code handlers} and for closures, and its rejection
   * counters.
   *
   * @param handlers the names of the handlers the queue registered
   */
  QueueMetrics(MeterRegistry registry, QueueConfig config, Set<String> handlers) {
    this.registry = registry;
    this.queue = config.name();
    this.tags = Tags.of("queue", queue);
    this.capacity = config.capacity();
    this.concurrency = config.concurrency();
    Duration[] buckets = config.timerBuckets().toArray(Duration[]::new);
    closures = timers(NO_HANDLER, buckets);
    Map<String, HandlerTimers> byHandler = new HashMap<>();
    for (String handler : new TreeSet<>(handlers)) {
      byHandler.put(handler, timers(handler, buckets));
    }
    timers = Map.copyOf(byHandler);
    for (Refusal refusal : Refusal.values()) {
      if (refusal == Refusal.INTERRUPTED) {
        continue; // a producer that gave up waiting for room was not refused: never counted
      }
      if (refusal == Refusal.TERMINATED) {
        continue; // counted as shut_down: it differs only in getting no listener event
      }
      rejected[refusal.ordinal()] =
          add(
              Counter.builder(REJECTED)
                  .description(
                      "Submissions refused (shut_down, full), and re-queued tasks left out as"
                          + " duplicates")
                  .tags(tags)
                  .tag("reason", tagValue(refusal.name()))
                  .register(registry));
    }
  }

  private HandlerTimers timers(String handler, Duration[] buckets) {
    Timer wait =
        add(
            Timer.builder(WAIT)
                .description("Time from enqueue (or not-before time) to the first attempt")
                .tags(tags)
                .tag("handler", handler)
                .serviceLevelObjectives(buckets)
                .register(registry));
    Timer[] attempts = new Timer[AttemptOutcome.values().length];
    for (AttemptOutcome outcome : AttemptOutcome.values()) {
      attempts[outcome.ordinal()] =
          add(
              Timer.builder(ATTEMPT_DURATION)
                  .description("How long attempts ran, by outcome")
                  .tags(tags)
                  .tag("handler", handler)
                  .tag("outcome", tagValue(outcome.name()))
                  .serviceLevelObjectives(buckets)
                  .register(registry));
    }
    return new HandlerTimers(wait, attempts);
  }

  /** The timers of a task's handler ({@code null}: a closure). */
  private HandlerTimers timersOf(@Nullable String handler) {
    if (handler == null) {
      return closures;
    }
    HandlerTimers t = timers.get(handler);
    return t == null ? closures : t; // cannot happen: a typed task runs only under a registered name
  }

  /** {@code TIMED_OUT} → {@code timed_out}. */
  static String tagValue(String constant) {
    return constant.toLowerCase(Locale.ROOT);
  }

  /** The meters registered so far, in order. */
  List<Meter> meters() {
    return meters;
  }

  private <M extends Meter> M add(M meter) {
    meters.add(meter);
    return meter;
  }

  /** Registers the counters and gauges, once the books whose counts they read exist. */
  void bind(QueueState state) {
    counter(state, "loomwork.tasks.submitted", "Tasks accepted by the queue", null, Count.SUBMITTED);
    counter(state, "loomwork.retries", "Retries scheduled after a failed attempt", null, Count.RETRIES);
    counter(state, "loomwork.tasks.completed", COMPLETED, "succeeded", Count.SUCCEEDED);
    counter(state, "loomwork.tasks.completed", COMPLETED, "failed", Count.FAILED);
    counter(state, "loomwork.tasks.completed", COMPLETED, "cancelled", Count.CANCELLED);
    counter(state, "loomwork.attempts", ATTEMPTS, "succeeded", Count.ATTEMPTS_SUCCEEDED);
    counter(state, "loomwork.attempts", ATTEMPTS, "failed", Count.ATTEMPTS_FAILED);
    counter(state, "loomwork.attempts", ATTEMPTS, "timed_out", Count.ATTEMPTS_TIMED_OUT);
    counter(state, "loomwork.attempts", ATTEMPTS, "cancelled", Count.ATTEMPTS_CANCELLED);
    gauge(state, "loomwork.tasks.ready", "Tasks waiting in the ready queue", Count.READY);
    gauge(state, "loomwork.tasks.running", "Tasks with an attempt in flight", Count.RUNNING);
    gauge(
        state,
        "loomwork.tasks.waiting",
        "Tasks waiting for a retry backoff or a not-before time",
        Count.WAITING);
    add(
        Gauge.builder(
                "loomwork.tasks.oldest.ready.age",
                state,
                s -> s.health().oldestReadyAge().toNanos() / 1e9)
            .description("How long the oldest ready task has been ready; 0 if none is")
            .baseUnit("seconds")
            .tags(tags)
            .register(registry));
    int limit = capacity;
    add(
        Gauge.builder("loomwork.queue.capacity", () -> limit)
            .description("How many tasks the ready queue holds at most")
            .tags(tags)
            .register(registry));
    int permits = concurrency;
    add(
        Gauge.builder("loomwork.queue.concurrency", () -> permits)
            .description("How many attempts run at once at most")
            .tags(tags)
            .register(registry));
    for (QueueLifecycle lifecycle : QueueLifecycle.values()) {
      add(
          Gauge.builder("loomwork.queue.state", state, s -> s.lifecycle() == lifecycle ? 1 : 0)
              .description("The queue's lifecycle state: 1 for the current one, 0 for the others")
              .tags(tags)
              .tag("state", tagValue(lifecycle.name()))
              .register(registry));
    }
  }

  private void counter(
      QueueState state, String name, String description, @Nullable String outcome, Count count) {
    FunctionCounter.Builder<QueueState> b =
        FunctionCounter.builder(name, state, s -> s.count(count)).description(description).tags(tags);
    if (outcome != null) {
      b.tag("outcome", outcome);
    }
    add(b.register(registry));
  }

  private void gauge(QueueState state, String name, String description, Count count) {
    add(Gauge.builder(name, state, s -> s.count(count)).description(description).tags(tags).register(registry));
  }

  /** Records the wait before a first attempt; a registry that throws is logged once. */
  void recordWait(@Nullable String handler, long nanos) {
    try {
      timersOf(handler).waitTimer().record(nanos, TimeUnit.NANOSECONDS);
    } catch (RuntimeException e) {
      failed(WAIT, e);
    }
  }

  /**
   * Records an attempt's duration under its handler and outcome; a registry that throws is logged
   * once.
   */
  void recordAttempt(@Nullable String handler, AttemptOutcome outcome, long nanos) {
    try {
      timersOf(handler).attempts()[outcome.ordinal()].record(nanos, TimeUnit.NANOSECONDS);
    } catch (RuntimeException e) {
      failed(ATTEMPT_DURATION, e);
    }
  }

  /** Counts a refusal under its reason; a registry that throws is logged once. */
  void refused(Refusal refusal) {
    try {
      rejected[(refusal == Refusal.TERMINATED ? Refusal.SHUT_DOWN : refusal).ordinal()].increment();
    } catch (RuntimeException e) {
      failed(REJECTED, e);
    }
  }

  private void failed(String meter, RuntimeException e) {
    if (reported.add(meter)) {
      log.warn("queue '{}': the meter registry threw while recording {}; the queue carries on", queue, meter, e);
    } else {
      log.debug("queue '{}': the meter registry threw while recording {}", queue, meter, e);
    }
  }
}
