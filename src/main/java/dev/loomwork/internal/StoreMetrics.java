package dev.loomwork.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The {@code loomwork.store.*} meters of a durable queue, tagged with {@code queue}: claims and the
 * tasks they took, completions by outcome (fenced ones included), releases, rescues, lost leases and
 * wake-ups, the time of claims and flushes, and the store's counts of the queue's tasks by state,
 * read every 15 s by one query (never per scrape).
 */
final class StoreMetrics implements StoreMeters {
  private static final String[] STATES = {"ready", "waiting", "running", "succeeded", "failed", "cancelled"};
  private static final String COMPLETIONS = "Attempt outcomes written to the store, by outcome";

  private final Counter claims;
  private final Counter claimedTasks;
  private final Counter succeeded;
  private final Counter failed;
  private final Counter retried;
  private final Counter cancelled;
  private final Counter fenced;
  private final Counter released;
  private final Counter leaseLosses;
  private final Counter notifications;
  private final Timer claimTimer;
  private final Timer flushTimer;
  private final MeterRegistry registry;
  private final Tags tags;
  /** The failure counters of the store's loops, registered up front so that a scrape sees zeros. */
  private final java.util.Map<String, Counter> failures = new java.util.HashMap<>();
  private final AtomicLongArray byState = new AtomicLongArray(STATES.length);

  StoreMetrics(MeterRegistry registry, String queue) {
    this.registry = registry;
    this.tags = Tags.of("queue", queue);
    for (String operation : new String[] {"claimer", "flusher", "lease", "housekeeper", "listener"}) {
      failures.put(operation, failures(operation));
    }
    claims = Counter.builder("loomwork.store.claims").description("Claim statements").tags(tags).register(registry);
    claimedTasks =
        Counter.builder("loomwork.store.claimed").description("Tasks claimed from the store").tags(tags).register(registry);
    succeeded = completion(registry, tags, "succeeded");
    failed = completion(registry, tags, "failed");
    retried = completion(registry, tags, "retry");
    cancelled = completion(registry, tags, "cancelled");
    fenced = completion(registry, tags, "fenced");
    released =
        Counter.builder("loomwork.store.released")
            .description("Tasks given back to the store by a cutting shutdown, their attempt returned")
            .tags(tags).register(registry);
    rescued(registry, queue); // present, at zero, before the first rescue
    leaseLosses =
        Counter.builder("loomwork.store.lease.losses")
            .description("Times this worker lost its lease and cut its attempts")
            .tags(tags).register(registry);
    notifications =
        Counter.builder("loomwork.store.notifications")
            .description("Wake-ups received on the LISTEN connection")
            .tags(tags).register(registry);
    claimTimer =
        Timer.builder("loomwork.store.claim.duration").description("Claim statements' time").tags(tags).register(registry);
    flushTimer =
        Timer.builder("loomwork.store.flush.duration")
            .description("Time to write a batch of outcomes").tags(tags).register(registry);
    for (int i = 0; i < STATES.length; i++) {
      int state = i;
      // A terminated queue of this name may have left its gauges, bound to its counts: replace them.
      registry.find("loomwork.store.tasks").tags(tags.and("state", STATES[i])).meters().forEach(registry::remove);
      Gauge.builder("loomwork.store.tasks", byState, a -> a.get(state))
          .description("The store's tasks of this queue by state, read every 15 s")
          .tags(tags.and("state", STATES[i]))
          .register(registry);
    }
  }

  private static Counter completion(MeterRegistry registry, Tags tags, String outcome) {
    return Counter.builder("loomwork.store.completions")
        .description(COMPLETIONS)
        .tags(tags.and("outcome", outcome))
        .register(registry);
  }

  @Override
  public void claimed(int tasks, long nanos) {
    claims.increment();
    claimedTasks.increment(tasks);
    claimTimer.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void flushed(int succeeded, int failed, int retried, int cancelled, int fenced, long nanos) {
    this.succeeded.increment(succeeded);
    this.failed.increment(failed);
    this.retried.increment(retried);
    this.cancelled.increment(cancelled);
    this.fenced.increment(fenced);
    flushTimer.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void released(int tasks) {
    released.increment(tasks);
  }

  /**
   * Tagged with the queue of the rescued tasks, not this process's: the rescuer of any process takes
   * back the tasks of every queue's lost workers.
   */
  @Override
  public void rescued(String queue, int tasks) {
    rescued(registry, queue).increment(tasks);
  }

  private static Counter rescued(MeterRegistry registry, String queue) {
    return Counter.builder("loomwork.store.rescued")
        .description("Tasks of lost workers returned by this process's rescuer, by the tasks' queue")
        .tags("queue", queue)
        .register(registry);
  }

  @Override
  public void leaseLost() {
    leaseLosses.increment();
  }

  @Override
  public void failed(String operation) {
    Counter c = failures.get(operation);
    (c != null ? c : failures(operation)).increment();
  }

  private Counter failures(String operation) {
    return Counter.builder("loomwork.store.failures")
        .description("Operations of the store that failed, by the loop that tried them")
        .tags(tags.and("operation", operation))
        .register(registry);
  }

  @Override
  public void notified() {
    notifications.increment();
  }

  @Override
  public void counts(DurableBackend.Counts c) {
    long[] counts = {c.ready(), c.waiting(), c.running(), c.succeeded(), c.failed(), c.cancelled()};
    for (int i = 0; i < STATES.length; i++) {
      byState.set(i, counts[i]);
    }
  }

  /**
   * The {@code loomwork.store.unclaimable} gauges, one per handler seen so far (tagged {@code queue}
   * and {@code handler}); a handler absent from the last read reads 0. Written by the housekeeping
   * loop only; read by scrapes.
   */
  private final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.atomic.AtomicLong>
      unclaimable = new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public void unclaimable(java.util.Map<String, Long> byHandler) {
    for (var e : byHandler.entrySet()) {
      unclaimable.computeIfAbsent(e.getKey(), h -> {
        java.util.concurrent.atomic.AtomicLong v = new java.util.concurrent.atomic.AtomicLong();
        Gauge.builder("loomwork.store.unclaimable", v, java.util.concurrent.atomic.AtomicLong::get)
            .description("Due ready tasks of the queue whose handler no live worker registers")
            .tags(tags.and("handler", h))
            .register(registry);
        return v;
      }).set(e.getValue());
    }
    for (var e : unclaimable.entrySet()) {
      if (!byHandler.containsKey(e.getKey())) {
        e.getValue().set(0);
      }
    }
  }
}
