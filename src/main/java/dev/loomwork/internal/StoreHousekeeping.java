package dev.loomwork.internal;

import dev.loomwork.internal.DurableBackend.Settings;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The housekeeping loop of a durable queue, on three timers: the rescuer (returns lost workers'
 * tasks, behind the store's lock, so one process at a time runs it), the pruning of old ended tasks
 * (likewise), the queue's ready tasks that no live worker claims (every rescue interval: a gauge, a
 * WARN per handler at most every {@value #WARN_MINUTES} minutes, and {@code health()}), and, with a
 * meter registry, the store's counts of the queue's tasks by state.
 *
 * <p>The unclaimable tasks are read by every process for its own queue, not behind the store's lock:
 * each process's {@code health()} needs its queue's figure. The query reads the queue's due ready
 * tasks by the ready index and its worker rows.
 */
final class StoreHousekeeping extends StoreLoop {
  /** How often the store's counts by state are read for the meters. */
  private static final long COUNT_NANOS = TimeUnit.SECONDS.toNanos(15);
  /** How soon the unclaimable tasks are looked at again while this queue's worker is not registered. */
  private static final long UNREGISTERED_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /** How long a handler's WARN about unclaimable tasks stays quiet before it may repeat. */
  static final int WARN_MINUTES = 5;
  private static final long WARN_NANOS = TimeUnit.MINUTES.toNanos(WARN_MINUTES);

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
  private long nextUnclaimable;
  /** When each handler's last WARN about unclaimable tasks was logged. */
  private final Map<String, Long> warned = new HashMap<>();

  /**
   * The queue's due ready tasks that no live worker claims, by handler, as last read; written by the
   * loop's thread, read by {@code health()} (an immutable map, published through the volatile).
   */
  private volatile Map<String, Long> unclaimable = Map.of();

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
    this.nextUnclaimable = now;
  }

  /** The queue's due ready tasks that no live worker claims, by handler, as last read; never null. */
  Map<String, Long> unclaimable() {
    return unclaimable;
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
    if (now - nextUnclaimable >= 0) {
      if (claimer.registered()) {
        nextUnclaimable = now + rescueNanos;
        unclaimable(Map.copyOf(backend.unclaimable(queue)), now);
      } else {
        // Not before this queue's own worker is registered: at start the claimer registers it while
        // this loop runs its first turn, and tasks already waiting would be counted, and warned of,
        // as tasks no live worker claims.
        nextUnclaimable = now + Math.min(rescueNanos, UNREGISTERED_NANOS);
      }
    }
    if (nextCount != Long.MAX_VALUE && now - nextCount >= 0) {
      nextCount = now + COUNT_NANOS;
      meters.counts(backend.counts(queue));
    }
    long next = Math.min(Math.min(nextRescue, nextPrune), nextUnclaimable);
    if (nextCount != Long.MAX_VALUE) {
      next = Math.min(next, nextCount);
    }
    return Math.max(1, next - System.nanoTime());
  }

  /** Publishes what was read, and warns of each handler at most every {@value #WARN_MINUTES} minutes. */
  private void unclaimable(Map<String, Long> byHandler, long now) {
    unclaimable = byHandler;
    meters.unclaimable(byHandler);
    for (var e : new java.util.TreeMap<>(byHandler).entrySet()) {
      Long last = warned.get(e.getKey());
      if (last == null || now - last >= WARN_NANOS) {
        warned.put(e.getKey(), now);
        Log.LOG.warn(
            "queue '{}': {} ready task(s) of handler '{}' wait, and no live worker of the queue registers"
                + " that handler: register it (WorkQueue.Builder.handle) in a process that runs the queue,"
                + " or cancel those tasks (repeated at most every {} minutes)",
            queue, e.getValue(), e.getKey(), WARN_MINUTES);
      }
    }
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
