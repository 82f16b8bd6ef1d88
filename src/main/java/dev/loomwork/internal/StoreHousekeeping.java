package dev.loomwork.internal;

import dev.loomwork.internal.DurableBackend.Settings;
import java.util.concurrent.TimeUnit;

/**
 * The housekeeping loop of a durable queue, on three timers: the rescuer (returns lost workers'
 * tasks, behind the store's lock, so one process at a time runs it), the pruning of old ended tasks
 * (likewise), and, with a meter registry, the store's counts of the queue's tasks by state.
 */
final class StoreHousekeeping extends StoreLoop {
  /** How often the store's counts by state are read for the meters. */
  private static final long COUNT_NANOS = TimeUnit.SECONDS.toNanos(15);

  private final String queue;
  private final DurableBackend backend;
  private final Claimer claimer;
  private final StoreMeters meters;
  private final long rescueNanos;
  private final long pruneNanos;

  // ---- the loop's thread only ----
  private long nextRescue;
  private long nextPrune;
  private long nextCount;

  StoreHousekeeping(String queue, DurableBackend backend, Claimer claimer, Outage outage, StoreMeters meters) {
    super("housekeeper", outage, meters);
    this.queue = queue;
    this.backend = backend;
    this.claimer = claimer;
    this.meters = meters;
    Settings settings = backend.settings();
    this.rescueNanos = settings.rescueInterval().toNanos();
    this.pruneNanos = settings.pruneInterval().toNanos();
    long now = System.nanoTime();
    this.nextRescue = now;
    this.nextPrune = now + pruneNanos;
    this.nextCount = meters == StoreMeters.NONE ? Long.MAX_VALUE : now;
  }

  @Override
  long turn() throws Exception {
    long now = System.nanoTime();
    if (now - nextRescue >= 0) {
      nextRescue = now + rescueNanos;
      DurableBackend.Rescue rescue = backend.rescue();
      if (rescue != null && report(rescue) > 0) {
        claimer.wake();
      }
    }
    if (now - nextPrune >= 0) {
      nextPrune = now + pruneNanos;
      backend.prune();
    }
    if (nextCount != Long.MAX_VALUE && now - nextCount >= 0) {
      nextCount = now + COUNT_NANOS;
      meters.counts(backend.counts(queue));
    }
    long next = Math.min(nextRescue, nextPrune);
    if (nextCount != Long.MAX_VALUE) {
      next = Math.min(next, nextCount);
    }
    return Math.max(1, next - System.nanoTime());
  }

  /**
   * Counts a rescue's tasks by their own queue (the rescuer of any process takes back every queue's
   * lost tasks), and logs one INFO line per lost worker: which, how many tasks, how late. Returns the
   * tasks taken back.
   */
  private int report(DurableBackend.Rescue rescue) {
    for (DurableBackend.LostWorker w : rescue.workers()) {
      int n = 0;
      for (var byQueue : w.tasksByQueue().entrySet()) {
        meters.rescued(byQueue.getKey(), byQueue.getValue());
        n += byQueue.getValue();
      }
      Log.LOG.info(
          "queue '{}': rescued worker {} of queue '{}': {} task(s) back to the store {}",
          queue, w.id(), w.queue() == null ? "?" : w.queue(), n,
          w.late() == null ? "(its row was already gone)" : w.late().toMillis() + " ms after its lease expired");
    }
    return rescue.tasks();
  }
}
