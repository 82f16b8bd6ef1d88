package dev.loomwork.internal;

import dev.loomwork.internal.Counts.Count;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The Micrometer binding. Every meter carries the tag {@code queue}; the only other tag, {@code
 * outcome}, takes a handful of fixed values. Task names and error messages never become tags.
 *
 * <p>The engine already counts tasks, attempts and retries under its lock, so the counters and
 * gauges are function meters that read those counts when the registry is scraped: on the hot path
 * they cost nothing. Only the two timers are recorded per task, called straight from the engine with
 * raw nanoseconds (no listener fan-out, no {@code Duration}). A registry that throws is logged once
 * per meter and never harms the queue. The function
 * meters hold the books weakly, as Micrometer's do by default, so a forgotten queue can still be
 * collected.
 */
final class QueueMetrics {
  private static final Logger log = Log.LOG;
  /** Timer buckets from 1 ms to 10 min, so that both quick webhooks and slow jobs resolve. */
  private static final Duration[] BUCKETS = {
    Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
    Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
    Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5),
    Duration.ofSeconds(10), Duration.ofSeconds(15), Duration.ofSeconds(20), Duration.ofSeconds(30),
    Duration.ofSeconds(45), Duration.ofMinutes(1), Duration.ofMinutes(2),
    Duration.ofMinutes(5), Duration.ofMinutes(10)
  };

  private static final String COMPLETED = "Tasks that reached a terminal state";
  private static final String ATTEMPTS = "Attempts that ended";

  private final MeterRegistry registry;
  private final String queue;
  private final Tags tags;
  private final Set<String> reported = ConcurrentHashMap.newKeySet();
  private final Timer waitTimer;
  private final Timer attemptTimer;

  QueueMetrics(MeterRegistry registry, String queue) {
    this.registry = registry;
    this.queue = queue;
    this.tags = Tags.of("queue", queue);
    waitTimer =
        Timer.builder("loomwork.task.wait")
            .description("Time from enqueue (or not-before time) to the first attempt")
            .tags(tags)
            .serviceLevelObjectives(BUCKETS)
            .register(registry);
    attemptTimer =
        Timer.builder("loomwork.attempt.duration")
            .description("How long attempts run")
            .tags(tags)
            .serviceLevelObjectives(BUCKETS)
            .register(registry);
  }

  /** Registers the counters and gauges, once the books whose counts they read exist. */
  void bind(QueueState state) {
    counter(state, "loomwork.tasks.submitted", "Tasks accepted by the queue", null, Count.SUBMITTED);
    counter(
        state,
        "loomwork.tasks.rejected",
        "Submissions refused: shut down, full, or interrupted",
        null,
        Count.REJECTED);
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
  }

  private void counter(
      QueueState state, String name, String description, @Nullable String outcome, Count count) {
    FunctionCounter.Builder<QueueState> b =
        FunctionCounter.builder(name, state, s -> s.count(count)).description(description).tags(tags);
    if (outcome != null) {
      b.tag("outcome", outcome);
    }
    b.register(registry);
  }

  private void gauge(QueueState state, String name, String description, Count count) {
    Gauge.builder(name, state, s -> s.count(count)).description(description).tags(tags).register(registry);
  }

  /** Records the wait before a first attempt; a registry that throws is logged once. */
  void recordWait(long nanos) {
    try {
      waitTimer.record(nanos, TimeUnit.NANOSECONDS);
    } catch (RuntimeException e) {
      failed("loomwork.task.wait", e);
    }
  }

  /** Records an attempt's duration; a registry that throws is logged once. */
  void recordAttempt(long nanos) {
    try {
      attemptTimer.record(nanos, TimeUnit.NANOSECONDS);
    } catch (RuntimeException e) {
      failed("loomwork.attempt.duration", e);
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
