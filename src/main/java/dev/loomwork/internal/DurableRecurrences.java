package dev.loomwork.internal;

import dev.loomwork.RecurringStatus;
import dev.loomwork.RecurringTask;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToIntFunction;
import org.jspecify.annotations.Nullable;

/**
 * The recurring tasks of a durable queue: the rows of the store's schedule table ({@link
 * ScheduleStore}), which every process of the queue declares and fires. The timer and the firer are
 * {@link RecurringRunner}'s; a pass does the I/O: first the declarations (until they are written),
 * then firing the due rows in batches of {@link #BATCH} until fewer are due, then it waits until the
 * earliest next tick the table holds. Every process runs its firer; the rows' locks make each tick
 * one task whatever their number.
 */
public final class DurableRecurrences extends RecurringRunner {
  /**
   * How many due rows one transaction fires. Each batch costs three round trips (select, write,
   * commit), whose latency on a loaded machine outweighs the rows' own cost: 10,000 due rows take
   * five batches.
   */
  static final int BATCH = 2_000;

  private final ScheduleStore store;
  private final ToIntFunction<String> maxAttempts;
  private final Map<String, RecurringTask<?>> declared = new LinkedHashMap<>();

  /** Whether this process's declarations are written; only the firer reads or writes it. */
  private boolean declaredAll;

  public DurableRecurrences(
      QueueEngine engine,
      ScheduleStore store,
      List<RecurringTask<?>> tasks,
      TickMeter meter,
      ToIntFunction<String> maxAttempts) {
    super(engine, meter);
    this.store = store;
    this.maxAttempts = maxAttempts;
    for (RecurringTask<?> t : tasks) {
      declared.put(t.name(), t);
    }
  }

  @Override
  @Nullable Duration pass() {
    try {
      Instant now = clock.instant();
      if (!declaredAll) {
        for (RecurringTask<?> t : declared.values()) {
          store.declare(queue, t, now);
        }
        declaredAll = true;
      }
      boolean first = true;
      int fired;
      do {
        // Triggers with the first batch only: one written meanwhile pokes, or waits for the next look.
        List<ScheduleStore.Fired> batch = store.fire(queue, now, BATCH, first, maxAttempts);
        first = false;
        fired = batch.size();
        report(batch, now);
        now = clock.instant();
      } while (fired >= BATCH && !stopped());
      Instant earliest = store.earliest(queue);
      return earliest == null ? MAX_WAIT : Duration.between(now, earliest);
    } catch (SQLException | RuntimeException e) {
      log.warn("queue '{}': firing recurring tasks failed; trying again shortly", queue, e);
      return MAX_WAIT;
    }
  }

  private void report(List<ScheduleStore.Fired> batch, Instant now) {
    for (ScheduleStore.Fired f : batch) {
      meter.count(f.name(), "enqueued", f.enqueued());
      Ticks.Due due = f.due();
      if (due != null) {
        skipped(f.name(), due, now, f.lateTolerance(), f.policy());
        for (Instant t : due.run()) {
          warnIfLate(f.name(), t, now, f.lateTolerance());
        }
      }
    }
  }

  // ---- RecurringTasks: on the store, so they hold for every process ----

  private IllegalArgumentException unknown(String name) {
    return unknown(queue, name, declared.keySet());
  }

  private IllegalStateException failed(String what, String name, SQLException e) {
    return new IllegalStateException(
        "queue '" + queue + "': could not " + what + " recurring task '" + name + "'", e);
  }

  /** A declared row not yet written (the queue has not started): written now, so it can be acted on. */
  private boolean ensureRow(String name) throws SQLException {
    RecurringTask<?> t = declared.get(name);
    if (store.find(queue, name) != null) {
      return true;
    }
    if (t == null) {
      return false;
    }
    store.declare(queue, t, clock.instant());
    return true;
  }

  @Override
  public List<RecurringStatus> list() {
    try {
      List<RecurringStatus> stored = store.list(queue);
      List<RecurringStatus> out = new ArrayList<>(stored);
      for (RecurringTask<?> t : declared.values()) {
        if (stored.stream().noneMatch(s -> s.name().equals(t.name()))) {
          out.add(new RecurringStatus(t.name(), t.schedule(), t.type().handler(), false, null, null));
        }
      }
      return out;
    } catch (SQLException e) {
      throw failed("list", "*", e);
    }
  }

  @Override
  public RecurringStatus status(String name) {
    Objects.requireNonNull(name, "name");
    try {
      RecurringStatus s = store.find(queue, name);
      if (s != null) {
        return s;
      }
    } catch (SQLException e) {
      throw failed("read", name, e);
    }
    RecurringTask<?> t = declared.get(name);
    if (t == null) {
      throw unknown(name);
    }
    return new RecurringStatus(t.name(), t.schedule(), t.type().handler(), false, null, null);
  }

  @Override
  public boolean pause(String name) {
    Objects.requireNonNull(name, "name");
    try {
      if (!ensureRow(name)) {
        throw unknown(name);
      }
      return store.pause(queue, name);
    } catch (SQLException e) {
      throw failed("pause", name, e);
    }
  }

  @Override
  public boolean resume(String name) {
    Objects.requireNonNull(name, "name");
    try {
      if (!ensureRow(name)) {
        throw unknown(name);
      }
      boolean resumed = store.resume(queue, name, clock.instant());
      poke();
      return resumed;
    } catch (SQLException e) {
      throw failed("resume", name, e);
    }
  }

  @Override
  public void triggerNow(String name) {
    Objects.requireNonNull(name, "name");
    try {
      if (!ensureRow(name) || !store.trigger(queue, name, clock.instant())) {
        throw unknown(name);
      }
      poke();
    } catch (SQLException e) {
      throw failed("trigger", name, e);
    }
  }
}
