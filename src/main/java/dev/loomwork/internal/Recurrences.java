package dev.loomwork.internal;

import dev.loomwork.RecurringStatus;
import dev.loomwork.RecurringTask;
import dev.loomwork.Schedule;
import dev.loomwork.Task;
import dev.loomwork.TaskType;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The recurring tasks of a queue in memory.
 *
 * <p><b>Threads.</b> One timer on the queue's scheduler thread ({@link Timers}) waits for the
 * earliest next tick of all the schedules, at most {@link #MAX_WAIT} of the injected clock's time,
 * so that a clock that jumps (or a test's clock that is moved) is noticed within that span. The
 * timer only starts a virtual thread, the firer, which reads the clock, decides under {@link #lock}
 * which ticks run, and enqueues their tasks outside it: the scheduler thread never runs user code
 * (codecs, listeners, the clock), and no thread waits per schedule. At most one firer runs at a
 * time ({@code firing}); a wake-up while it runs sets {@code again}, and the firer loops.
 *
 * <p><b>State.</b> Each entry's {@code next} is its first tick not yet handled: computed at {@link
 * #begin()} as the first tick after the start, then advanced past every tick the firer handles
 * ({@link Ticks#due}); null for a fixed delay while its tick's task runs (its after-callback sets it)
 * or for an expression with no further tick. A paused entry keeps no {@code next}; resuming computes
 * it from now, so the ticks of the pause are neither run nor missed. Triggers wait in {@code
 * triggers} for the firer.
 */
public final class Recurrences implements RecurringRunner {
  private static final Logger log = Log.LOG;

  /** The longest the timer waits before the firer looks at the clock again. */
  static final Duration MAX_WAIT = Duration.ofSeconds(1);

  private final QueueEngine engine;
  private final InstantSource clock;
  private final TickMeter meter;
  private final Map<String, Entry> entries = new LinkedHashMap<>();

  private final ReentrantLock lock = new ReentrantLock();
  // ---- guarded by lock ----
  private boolean started;
  private boolean stopped;
  private boolean firing;
  private boolean again;
  private @Nullable Future<?> timer;

  private static final class Entry {
    final RecurringTask<?> declared;
    // guarded by Recurrences.lock
    boolean paused;
    @Nullable Instant next;
    @Nullable Instant last;
    final List<Instant> triggers = new ArrayList<>(1);

    Entry(RecurringTask<?> declared) {
      this.declared = declared;
    }
  }

  /** One tick to enqueue, decided under the lock. */
  private record Tick(Entry entry, Instant at, boolean late) {}

  public Recurrences(QueueEngine engine, List<RecurringTask<?>> declared, TickMeter meter) {
    this.engine = engine;
    this.clock = engine.clock;
    this.meter = meter;
    for (RecurringTask<?> r : declared) {
      entries.put(r.name(), new Entry(r));
    }
  }

  /** Starts ticking: the first tick of each schedule is its first after now. Idempotent. */
  @Override
  public void begin() {
    Instant now = clock.instant();
    lock.lock();
    try {
      if (started || stopped) {
        return;
      }
      started = true;
      for (Entry e : entries.values()) {
        e.next = first(e.declared.schedule(), now);
      }
      arm(now);
    } finally {
      lock.unlock();
    }
  }

  /** Stops ticking, for good; a firer running now finishes its enqueues. */
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

  private static @Nullable Instant first(Schedule s, Instant now) {
    return s.kind() == Schedule.Kind.FIXED_DELAY ? now : s.next(now);
  }

  /** Under the lock: sets the timer for the earliest next tick, or the next look at the clock. */
  private void arm(Instant now) {
    if (stopped || !started || firing) {
      return;
    }
    Instant earliest = null;
    for (Entry e : entries.values()) {
      if (!e.triggers.isEmpty()) {
        earliest = now;
      } else if (!e.paused && e.next != null && (earliest == null || e.next.isBefore(earliest))) {
        earliest = e.next;
      }
    }
    if (earliest == null) {
      return; // nothing to wait for; a resume, trigger or fixed delay's end arms again
    }
    Duration wait = Duration.between(now, earliest);
    if (wait.compareTo(MAX_WAIT) > 0) {
      wait = MAX_WAIT;
    }
    Future<?> old = timer;
    if (old != null) {
      old.cancel(false);
    }
    timer = later(Timers.nanos(wait));
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

  /** The scheduler thread: hands the work to a firer, never doing it here. */
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
    try {
      Thread.ofVirtual().name("loomwork-" + engine.name() + "-recurring").start(this::fire);
    } catch (RuntimeException | Error e) {
      lock.lock();
      try {
        firing = false;
      } finally {
        lock.unlock();
      }
      throw e;
    }
  }

  /** The firer: decides under the lock, enqueues outside it, and loops while woken meanwhile. */
  private void fire() {
    while (true) {
      Instant now;
      List<Tick> ticks = new ArrayList<>();
      Map<Entry, Ticks.Due> dues = new LinkedHashMap<>();
      try {
        now = clock.instant();
      } catch (RuntimeException e) {
        log.error("queue '{}': the clock failed; recurring tasks look again shortly", engine.name(), e);
        now = null;
      }
      lock.lock();
      try {
        if (now != null && !stopped) {
          decide(now, ticks, dues);
        }
      } finally {
        lock.unlock();
      }
      if (now != null) {
        report(now, dues);
        enqueue(ticks, now);
      }
      lock.lock();
      try {
        if (again && !stopped) {
          again = false;
          continue;
        }
        firing = false;
        if (now != null) {
          arm(now);
        } else if (!stopped) {
          timer = later(Timers.nanos(MAX_WAIT));
        }
        return;
      } finally {
        lock.unlock();
      }
    }
  }

  /** Under the lock: the ticks due at {@code now}, each entry advanced past them. */
  private void decide(Instant now, List<Tick> ticks, Map<Entry, Ticks.Due> dues) {
    for (Entry e : entries.values()) {
      RecurringTask<?> r = e.declared;
      if (e.paused || e.next == null || e.next.isAfter(now)) {
        continue;
      }
      if (r.schedule().kind() == Schedule.Kind.FIXED_DELAY) {
        boolean late = Duration.between(e.next, now).compareTo(r.lateTolerance()) > 0;
        ticks.add(new Tick(e, e.next, late));
        e.last = e.next;
        e.next = null; // until the tick's task ends
        continue;
      }
      Ticks.Due d = Ticks.due(r.schedule(), e.next, now, r.missedTicks(), r.lateTolerance());
      for (Instant t : d.run()) {
        ticks.add(new Tick(e, t, Duration.between(t, now).compareTo(r.lateTolerance()) > 0));
      }
      e.next = d.next();
      e.last = d.last();
      dues.put(e, d);
    }
    // Triggers last: a trigger's task is enqueued after every scheduled tick of the same pass.
    for (Entry e : entries.values()) {
      for (Instant t : e.triggers) {
        ticks.add(new Tick(e, t, false));
      }
      e.triggers.clear();
    }
  }

  private void report(Instant now, Map<Entry, Ticks.Due> dues) {
    for (Map.Entry<Entry, Ticks.Due> m : dues.entrySet()) {
      Ticks.Due d = m.getValue();
      RecurringTask<?> r = m.getKey().declared;
      meter.count(r.name(), "skipped", d.skipped());
      if (d.missed() > 0) {
        log.warn(
            "queue '{}': recurring task '{}' missed {} tick(s), the latest at {}, now {}"
                + " (tolerance {}); policy {}: {} run, {} skipped",
            engine.name(), r.name(), d.missed(), d.last(), now, r.lateTolerance(), r.missedTicks(),
            d.missed() - d.skipped(), d.skipped());
      }
    }
  }

  private void enqueue(List<Tick> ticks, Instant now) {
    for (Tick t : ticks) {
      RecurringTask<?> r = t.entry().declared;
      if (t.late()) {
        log.warn(
            "queue '{}': recurring task '{}': the tick of {} runs {} late (tolerance {})",
            engine.name(), r.name(), t.at(), Duration.between(t.at(), now), r.lateTolerance());
      }
      Task<?> task = task(r, t.at());
      try {
        if (engine.offer(Access.core(task))) {
          meter.count(r.name(), "enqueued", 1);
          continue;
        }
        log.warn(
            "queue '{}': recurring task '{}': the queue is full, the tick of {} is dropped",
            engine.name(), r.name(), t.at());
      } catch (RejectedExecutionException e) {
        stop(); // shut down: no tick runs again
        log.debug("queue '{}': recurring task '{}': the tick of {} was rejected", engine.name(), r.name(), t.at());
      } catch (RuntimeException e) {
        log.warn("queue '{}': recurring task '{}': the tick of {} failed to enqueue", engine.name(), r.name(), t.at(), e);
      }
      meter.count(r.name(), "rejected", 1);
      delayEnded(t.entry());
    }
  }

  @SuppressWarnings("unchecked")
  private Task<?> task(RecurringTask<?> r, Instant at) {
    Task<?> task = Task.of((TaskType<Object>) r.type(), r.payload()).named(r.name());
    if (r.schedule().kind() == Schedule.Kind.FIXED_DELAY) {
      Entry e = entries.get(r.name());
      ((Task<Object>) task).after(ignored -> delayEnded(Objects.requireNonNull(e)));
    }
    Access.core(task).scheduledAt = at;
    return task;
  }

  /** A fixed delay's tick ended (or was never enqueued): its next tick is the delay after now. */
  private void delayEnded(Entry e) {
    if (e.declared.schedule().kind() != Schedule.Kind.FIXED_DELAY) {
      return;
    }
    Instant now = clock.instant();
    lock.lock();
    try {
      if (!e.paused && e.next == null) {
        e.next = e.declared.schedule().next(now);
      }
      arm(now);
    } finally {
      lock.unlock();
    }
  }

  // ---- RecurringTasks ----

  private Entry entry(String name) {
    Objects.requireNonNull(name, "name");
    Entry e = entries.get(name);
    if (e == null) {
      throw new IllegalArgumentException(
          "name: '" + name + "' (expected: a recurring task of queue '" + engine.name() + "': "
              + entries.keySet() + ")");
    }
    return e;
  }

  @Override
  public List<RecurringStatus> list() {
    lock.lock();
    try {
      List<RecurringStatus> out = new ArrayList<>(entries.size());
      for (Entry e : entries.values()) {
        out.add(status(e));
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public RecurringStatus status(String name) {
    Entry e = entry(name);
    lock.lock();
    try {
      return status(e);
    } finally {
      lock.unlock();
    }
  }

  private static RecurringStatus status(Entry e) {
    RecurringTask<?> r = e.declared;
    return new RecurringStatus(r.name(), r.schedule(), r.type().handler(), e.paused, e.paused ? null : e.next, e.last);
  }

  @Override
  public boolean pause(String name) {
    Entry e = entry(name);
    lock.lock();
    try {
      if (e.paused) {
        return false;
      }
      e.paused = true;
      e.next = null;
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean resume(String name) {
    Entry e = entry(name);
    Instant now = clock.instant();
    lock.lock();
    try {
      if (!e.paused) {
        return false;
      }
      e.paused = false;
      e.next = started ? first(e.declared.schedule(), now) : null;
      arm(now);
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void triggerNow(String name) {
    Entry e = entry(name);
    Instant now = clock.instant();
    lock.lock();
    try {
      e.triggers.add(now);
      if (firing) {
        again = true;
      } else {
        arm(now);
      }
    } finally {
      lock.unlock();
    }
  }

  /** No recurring tasks: what a queue without any declared answers. */
  public static dev.loomwork.RecurringTasks none(String queue) {
    return new dev.loomwork.RecurringTasks() {
      @Override
      public List<RecurringStatus> list() {
        return List.of();
      }

      @Override
      public RecurringStatus status(String name) {
        throw unknown(name);
      }

      @Override
      public boolean pause(String name) {
        throw unknown(name);
      }

      @Override
      public boolean resume(String name) {
        throw unknown(name);
      }

      @Override
      public void triggerNow(String name) {
        throw unknown(name);
      }

      private IllegalArgumentException unknown(String name) {
        Objects.requireNonNull(name, "name");
        return new IllegalArgumentException(
            "name: '" + name + "' (expected: a recurring task of queue '" + queue + "': [])");
      }
    };
  }
}
