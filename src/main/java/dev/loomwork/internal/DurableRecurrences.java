package dev.loomwork.internal;

import dev.loomwork.RecurringStatus;
import dev.loomwork.RecurringTask;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Future;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToIntFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The recurring tasks of a durable queue: the rows of the store's schedule table ({@link
 * ScheduleStore}), which every process of the queue declares and fires.
 *
 * <p><b>Threads.</b> As in memory ({@link Recurrences}), a timer on the queue's scheduler thread waits
 * for the earliest next tick the table holds, at most {@link Recurrences#MAX_WAIT} (a pause, resume
 * or trigger written by another process is seen within that span), and starts a virtual thread, the
 * firer, which does the I/O: first the declarations (until they are written), then firing the due
 * rows in batches of {@link #BATCH} until fewer are due. The scheduler thread never touches the
 * database. At most one firer runs at a time ({@code firing}, {@code again}, guarded by {@link
 * #lock}); every process runs one, and the rows' locks make each tick one task whatever their number.
 */
public final class DurableRecurrences implements RecurringRunner {
  private static final Logger log = Log.LOG;

  /** How many due rows one transaction fires. */
  static final int BATCH = 500;

  private final QueueEngine engine;
  private final String queue;
  private final InstantSource clock;
  private final ScheduleStore store;
  private final TickMeter meter;
  private final ToIntFunction<String> maxAttempts;
  private final Map<String, RecurringTask<?>> declared = new LinkedHashMap<>();

  private final ReentrantLock lock = new ReentrantLock();
  // ---- guarded by lock ----
  private boolean started;
  private boolean stopped;
  private boolean firing;
  private boolean again;
  private boolean declaredAll;
  private @Nullable Future<?> timer;

  public DurableRecurrences(
      QueueEngine engine,
      ScheduleStore store,
      List<RecurringTask<?>> tasks,
      TickMeter meter,
      ToIntFunction<String> maxAttempts) {
    this.engine = engine;
    this.queue = engine.name();
    this.clock = engine.clock;
    this.store = store;
    this.meter = meter;
    this.maxAttempts = maxAttempts;
    for (RecurringTask<?> t : tasks) {
      declared.put(t.name(), t);
    }
  }

  @Override
  public void begin() {
    lock.lock();
    try {
      if (started || stopped) {
        return;
      }
      started = true;
      firing = true;
    } finally {
      lock.unlock();
    }
    Thread.ofVirtual().name("loomwork-" + queue + "-recurring").start(this::fire);
  }

  @Override
  public void stop() {
    Future<?> t;
    lock.lock();
    try {
      stopped = true;
      t = timer;
      timer = null;
    } finally {
      lock.unlock();
    }
    if (t != null) {
      t.cancel(false);
    }
  }

  /**
   * Sets a timer on the queue's scheduler thread, or none if that has stopped (the queue
   * terminated: its owner shut the scheduler down, so no tick is to come).
   */
  private @Nullable Future<?> later(long delayNanos) {
    try {
      return engine.timers.schedule(this::wake, delayNanos);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      stopped = true; // caller holds the lock
      return null;
    }
  }

  /** The scheduler thread: starts a firer, or tells the running one to go round again. */
  private void wake() {
    lock.lock();
    try {
      timer = null;
      if (stopped) {
        return;
      }
      if (firing) {
        again = true;
        return;
      }
      firing = true;
    } finally {
      lock.unlock();
    }
    Thread.ofVirtual().name("loomwork-" + queue + "-recurring").start(this::fire);
  }

  private void fire() {
    while (true) {
      Instant earliest = null;
      Instant now = null;
      try {
        now = clock.instant();
        if (declareAll(now)) {
          int fired;
          do {
            List<ScheduleStore.Fired> batch = store.fire(queue, now, BATCH, maxAttempts);
            fired = batch.size();
            report(batch, now);
            now = clock.instant();
          } while (fired == BATCH && !isStopped());
          earliest = store.earliest(queue);
        }
      } catch (SQLException | RuntimeException e) {
        log.warn("queue '{}': firing recurring tasks failed; trying again shortly", queue, e);
      }
      lock.lock();
      try {
        if (again && !stopped) {
          again = false;
          continue;
        }
        firing = false;
        if (!stopped) {
          Duration wait = Recurrences.MAX_WAIT;
          if (earliest != null && now != null && Duration.between(now, earliest).compareTo(wait) < 0) {
            wait = Duration.between(now, earliest);
          }
          timer = later(Timers.nanos(wait));
        }
        return;
      } finally {
        lock.unlock();
      }
    }
  }

  private boolean isStopped() {
    lock.lock();
    try {
      return stopped;
    } finally {
      lock.unlock();
    }
  }

  /** Writes this process's declarations once; false if that failed and is still to do. */
  private boolean declareAll(Instant now) throws SQLException {
    lock.lock();
    try {
      if (declaredAll) {
        return true;
      }
    } finally {
      lock.unlock();
    }
    for (RecurringTask<?> t : declared.values()) {
      store.declare(queue, t, now);
    }
    lock.lock();
    try {
      declaredAll = true;
    } finally {
      lock.unlock();
    }
    return true;
  }

  private void report(List<ScheduleStore.Fired> batch, Instant now) {
    for (ScheduleStore.Fired f : batch) {
      meter.count(f.name(), "enqueued", f.run().size());
      meter.count(f.name(), "skipped", f.skipped());
      if (f.missed() > 0) {
        log.warn(
            "queue '{}': recurring task '{}' missed {} tick(s), the latest at {}, now {}"
                + " (tolerance {}): {} run, {} skipped",
            queue, f.name(), f.missed(), f.last(), now, f.lateTolerance(), f.missed() - f.skipped(),
            f.skipped());
      }
      for (Instant t : f.run()) {
        Duration late = Duration.between(t, now);
        if (late.compareTo(f.lateTolerance()) > 0) {
          log.warn(
              "queue '{}': recurring task '{}': the tick of {} runs {} late (tolerance {})",
              queue, f.name(), t, late, f.lateTolerance());
        }
      }
    }
  }

  // ---- RecurringTasks: on the store, so they hold for every process ----

  private IllegalArgumentException unknown(String name) {
    return new IllegalArgumentException(
        "name: '" + name + "' (expected: a recurring task of queue '" + queue + "': "
            + declared.keySet() + ")");
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

  /** Fires soon in this process too, rather than at its next look. */
  private void poke() {
    Future<?> old;
    lock.lock();
    try {
      if (!started || stopped) {
        return;
      }
      if (firing) {
        again = true;
        return;
      }
      old = timer;
      timer = later(0);
    } finally {
      lock.unlock();
    }
    if (old != null) {
      old.cancel(false);
    }
  }
}
