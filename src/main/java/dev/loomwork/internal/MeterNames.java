package dev.loomwork.internal;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import org.slf4j.Logger;

/**
 * One live queue per name in a meter registry. A queue's meters are told apart by the tag {@code
 * queue} alone, and Micrometer hands a second registration of the same meter back to the first
 * caller: a second queue of the same name would publish the first one's counts (and NaN once that
 * one is collected). So a queue holds its name in its registry from the moment it is built:
 *
 * <ul>
 *   <li>while the queue that holds the name has not terminated, building another of that name with
 *       that registry is refused with an {@link IllegalStateException} that names it;
 *   <li>a terminated queue keeps its meters, with their last values, so that a last scrape after a
 *       drain still reads them; the next queue of that name removes them and registers its own;
 *   <li>a queue that was dropped without a shutdown holds its name until it is garbage collected.
 * </ul>
 *
 * The holders are kept weakly, and so are the registries. Building is rare, so one lock serves every
 * registry; the check, the build and the taking of the name happen under it, so two threads cannot
 * both pass.
 */
public final class MeterNames {
  private static final Logger log = Log.LOG;

  /**
   * A name's holder, and the ids of the meters it registered (to remove once it is replaced). Ids,
   * not meters: a meter may reference its registry, which would keep the weak key alive.
   */
  private record Holder(WeakReference<QueueEngine> engine, List<Meter.Id> meters) {}

  private static final Map<MeterRegistry, Map<String, Holder>> holders = new WeakHashMap<>();

  private MeterNames() {}

  /**
   * Builds a queue's engine; with a registry, holding its name there.
   *
   * @throws IllegalStateException if a queue of the same name, not yet terminated, has its meters in
   *     the same registry
   * @throws IllegalArgumentException as {@link QueueEngine#create} does
   */
  public static QueueEngine create(QueueConfig config) {
    MeterRegistry registry = config.meterRegistry();
    if (registry == null) {
      return QueueEngine.create(config);
    }
    String name = config.name();
    synchronized (holders) {
      Map<String, Holder> byName = holders.computeIfAbsent(registry, r -> new HashMap<>());
      Holder held = byName.get(name);
      if (held != null) {
        QueueEngine holder = held.engine().get();
        if (holder != null && !holder.isTerminated()) {
          throw new IllegalStateException(
              "queue '"
                  + name
                  + "' already has meters in this registry, from a queue that has not terminated:"
                  + " shut that queue down first, or give this one another name");
        }
        removeMeters(registry, name, held);
        byName.remove(name);
      }
      QueueEngine engine = QueueEngine.create(config);
      QueueMetrics metrics = engine.publisher.metrics();
      if (metrics != null) {
        List<Meter.Id> ids = metrics.meters().stream().map(Meter::getId).toList();
        byName.put(name, new Holder(new WeakReference<>(engine), ids));
      }
      return engine;
    }
  }

  /** Removes the meters of a queue that terminated (or was collected); a registry that throws is logged. */
  private static void removeMeters(MeterRegistry registry, String name, Holder held) {
    for (Meter.Id id : held.meters()) {
      try {
        registry.remove(id);
      } catch (RuntimeException e) {
        log.warn("queue '{}': could not remove the meter {} of its previous instance", name, id, e);
      }
    }
  }
}
