package dev.loomwork.internal;

import dev.loomwork.Task;
import dev.loomwork.WorkQueueListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/**
 * The Micrometer binding: a listener whose meters are all registered when the queue is built, so
 * that each event costs one lookup-free increment or record. Every meter carries the tag {@code
 * queue}; the only other tag, {@code outcome}, takes a handful of fixed values. Task names and error
 * messages never become tags.
 *
 * <p>The gauges read {@link QueueEngine#stats()} when scraped (a short lock); they hold the engine
 * weakly, as Micrometer gauges do by default, so a forgotten queue can still be collected.
 */
final class QueueMetrics implements WorkQueueListener {
  /** Timer buckets from 1 ms to 10 min, so that both quick webhooks and slow jobs resolve. */
  static final Duration[] BUCKETS = {
    Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
    Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
    Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5),
    Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofMinutes(1), Duration.ofMinutes(2),
    Duration.ofMinutes(5), Duration.ofMinutes(10)
  };

  private final Counter submitted;
  private final Counter rejected;
  private final Counter retries;
  private final Counter succeeded;
  private final Counter failed;
  private final Counter cancelled;
  private final Counter attemptsSucceeded;
  private final Counter attemptsFailed;
  private final Counter attemptsTimedOut;
  private final Counter attemptsCancelled;
  private final Timer waitTimer;
  private final Timer attemptTimer;
  private final MeterRegistry registry;
  private final Tags tags;

  QueueMetrics(MeterRegistry registry, String queue) {
    this.registry = registry;
    this.tags = Tags.of("queue", queue);
    submitted = counter("loomwork.tasks.submitted", "Tasks accepted by the queue", null);
    rejected = counter("loomwork.tasks.rejected", "Submissions refused: shut down, full, or interrupted", null);
    retries = counter("loomwork.retries", "Retries scheduled after a failed attempt", null);
    succeeded = counter("loomwork.tasks.completed", "Tasks that reached a terminal state", "succeeded");
    failed = counter("loomwork.tasks.completed", "Tasks that reached a terminal state", "failed");
    cancelled = counter("loomwork.tasks.completed", "Tasks that reached a terminal state", "cancelled");
    attemptsSucceeded = counter("loomwork.attempts", "Attempts that ended", "succeeded");
    attemptsFailed = counter("loomwork.attempts", "Attempts that ended", "failed");
    attemptsTimedOut = counter("loomwork.attempts", "Attempts that ended", "timed_out");
    attemptsCancelled = counter("loomwork.attempts", "Attempts that ended", "cancelled");
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

  private Counter counter(String name, String description, @Nullable String outcome) {
    Counter.Builder b = Counter.builder(name).description(description).tags(tags);
    if (outcome != null) {
      b.tag("outcome", outcome);
    }
    return b.register(registry);
  }

  /** Registers the gauges, once the engine they read exists. */
  void bindGauges(QueueEngine engine) {
    gauge("loomwork.tasks.ready", "Tasks waiting in the ready queue", engine, e -> e.stats().ready());
    gauge("loomwork.tasks.running", "Tasks with an attempt in flight", engine, e -> e.stats().running());
    gauge(
        "loomwork.tasks.waiting",
        "Tasks waiting for a retry backoff or a not-before time",
        engine,
        e -> e.stats().waiting());
  }

  private void gauge(String name, String description, QueueEngine engine, ToDoubleFunction<QueueEngine> f) {
    Gauge.builder(name, engine, f).description(description).tags(tags).register(registry);
  }

  @Override
  public void onEnqueued(Task<?> task) {
    submitted.increment();
  }

  @Override
  public void onRejected(String queue, Task<?> task, String reason) {
    rejected.increment();
  }

  @Override
  public void onAttemptStarted(Task<?> task, int attempt, Duration waited) {
    if (attempt == 1) {
      waitTimer.record(waited);
    }
  }

  @Override
  public void onAttemptFinished(
      Task<?> task, int attempt, AttemptOutcome outcome, Duration duration, @Nullable Throwable error) {
    attemptTimer.record(duration);
    switch (outcome) {
      case SUCCEEDED -> attemptsSucceeded.increment();
      case FAILED -> attemptsFailed.increment();
      case TIMED_OUT -> attemptsTimedOut.increment();
      case CANCELLED -> attemptsCancelled.increment();
    }
  }

  @Override
  public void onRetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) {
    retries.increment();
  }

  @Override
  public void onSucceeded(Task<?> task) {
    succeeded.increment();
  }

  @Override
  public void onFailed(Task<?> task, Throwable error) {
    failed.increment();
  }

  @Override
  public void onCancelled(Task<?> task) {
    cancelled.increment();
  }
}
