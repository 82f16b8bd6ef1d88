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
 * then firing the due rows in batches of {@link #BATCH} until fewer are due (a first batch, and, if
 * it was full, the rest on {@link #FIRERS} connections at once), then it waits until the earliest
 * next tick the table holds. Every process runs its firer; the rows' locks make each tick one task
 * whatever their number.
 */
public final class DurableRecurrences extends RecurringRunner {
  /**
   * How many due rows one transaction fires. Each batch costs three round trips (select, write,
   * commit), whose latency on a loaded machine outweighs the rows' own cost: 10,000 due rows take
   * five batches.
   */
  static final int BATCH = 2_000;

  /**
   * How many transactions fire at once, each on its own connection, when more rows are due than one
   * batch holds. The database works on them in parallel (on two cores, the second one's share), and
   * one's round trips overlap the other's statements.
   */
  static final int FIRERS = 2;

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
      // Triggers with the first batch only: one written meanwhile pokes, or waits for the next look.
      List<ScheduleStore.Fired> batch = store.fire(queue, now, BATCH, true, maxAttempts);
      report(batch, now);
      if (batch.size() >= BATCH && !stopped()) {
        fireTheRest();
      }
      Instant earliest = store.earliest(queue);
      return earliest == null ? MAX_WAIT : Duration.between(clock.instant(), earliest);
    } catch (SQLException | RuntimeException e) {
      failed(e);
      return MAX_WAIT;
    }
  }

  private void failed(Exception e) {
    log.warn("queue '{}': firing recurring tasks failed; trying again shortly", queue, e);
  }

  /**
   * More rows were due than one batch: fires the rest on {@link #FIRERS} connections at once, this
   * thread and helpers, each in batches until it finds fewer than a batch due, and returns once every
   * helper has ended (so that one pass runs at a time). The rows' locks ({@code SKIP LOCKED}) give
   * each firer other rows than the rest. A helper's failure is logged; the rows it did not fire stay
   * due for the next pass.
   */
  private void fireTheRest() throws SQLException {
    List<Thread> helpers = new ArrayList<>(FIRERS - 1);
    try {
      for (int i = 1; i < FIRERS; i++) {
        helpers.add(
            Thread.ofVirtual()
                .name("loomwork-" + queue + "-recurring-" + i)
                .start(
                    () -> {
                      try {
                        fireBatches();
                      } catch (SQLException | RuntimeException e) {
                        failed(e);
                      }
                    }));
      }
      fireBatches();
    } finally {
      for (Thread h : helpers) {
        Uninterruptibles.join(h);
      }
    }
  }

  /** Fires batches without the triggers until one holds fewer than {@link #BATCH} rows. */
  private void fireBatches() throws SQLException {
    int fired;
    do {
      Instant now = clock.instant();
      List<ScheduleStore.Fired> batch = store.fire(queue, now, BATCH, false, maxAttempts);
      fired = batch.size();
      report(batch, now);
    } while (fired >= BATCH && !stopped());
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
