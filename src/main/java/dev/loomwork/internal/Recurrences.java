package dev.loomwork.internal;

import dev.loomwork.RecurringStatus;
import dev.loomwork.RecurringTask;
import dev.loomwork.Schedule;
import dev.loomwork.Task;
import dev.loomwork.TaskType;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import org.jspecify.annotations.Nullable;

/**
 * The recurring tasks of a queue in memory: a pass decides under {@link #lock} which ticks run and
 * enqueues their tasks outside it. The timer and the firer are {@link RecurringRunner}'s.
 *
 * <p><b>State</b>, guarded by {@link #lock}. Each entry's {@code next} is its first tick not yet
 * handled: computed as the queue starts as the first tick after the start, then advanced past every
 * tick a pass handles ({@link Ticks#due}); null for a fixed delay while its tick's task runs (its
 * after-callback sets it) or for an expression with no further tick. A paused entry keeps no {@code
 * next}; resuming computes it from now, so the ticks of the pause are neither run nor missed.
 * Triggers wait in {@code triggers} for the next pass.
 */
public final class Recurrences extends RecurringRunner {
  private final Map<String, Entry> entries = new LinkedHashMap<>();

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

  /** One tick to enqueue, decided under the lock; a trigger's is never late. */
  private record Tick(Entry entry, Instant at, boolean trigger) {}

  public Recurrences(QueueEngine engine, List<RecurringTask<?>> declared, TickMeter meter) {
    super(engine, meter);
    for (RecurringTask<?> r : declared) {
      entries.put(r.name(), new Entry(r));
    }
  }

  /** The first tick of each schedule is its first after the start (a fixed delay's: the start). */
  @Override
  void starting(Instant now) {
    for (Entry e : entries.values()) {
      e.next = first(e.declared.schedule(), now);
    }
  }

  private static @Nullable Instant first(Schedule s, Instant now) {
    return s.kind() == Schedule.Kind.FIXED_DELAY ? now : s.next(now);
  }

  @Override
  @Nullable Duration pass() {
    Instant now;
    try {
      now = clock.instant();
    } catch (RuntimeException e) {
      log.error("queue '{}': the clock failed; recurring tasks look again shortly", queue, e);
      return MAX_WAIT;
    }
    List<Tick> ticks = new ArrayList<>();
    Map<Entry, Ticks.Due> dues = new LinkedHashMap<>();
    lock.lock();
    try {
      if (!stopped()) {
        decide(now, ticks, dues);
      }
    } finally {
      lock.unlock();
    }
    for (Map.Entry<Entry, Ticks.Due> m : dues.entrySet()) {
      RecurringTask<?> r = m.getKey().declared;
      skipped(r.name(), m.getValue(), now, r.lateTolerance(), r.missedTicks());
    }
    enqueue(ticks, now);
    lock.lock();
    try {
      return wait(now);
    } finally {
      lock.unlock();
    }
  }

  /** Under the lock: the wait until the earliest next tick, or null if no entry waits for one. */
  private @Nullable Duration wait(Instant now) {
    Instant earliest = null;
    for (Entry e : entries.values()) {
      if (!e.triggers.isEmpty()) {
        return Duration.ZERO;
      }
      if (!e.paused && e.next != null && (earliest == null || e.next.isBefore(earliest))) {
        earliest = e.next;
      }
    }
    // None: a resume, a trigger or a fixed delay's end pokes.
    return earliest == null ? null : Duration.between(now, earliest);
  }

  /** Under the lock: the ticks due at {@code now}, each entry advanced past them. */
  private void decide(Instant now, List<Tick> ticks, Map<Entry, Ticks.Due> dues) {
    for (Entry e : entries.values()) {
      RecurringTask<?> r = e.declared;
      if (e.paused || e.next == null || e.next.isAfter(now)) {
        continue;
      }
      if (r.schedule().kind() == Schedule.Kind.FIXED_DELAY) {
        ticks.add(new Tick(e, e.next, false));
        e.last = e.next;
        e.next = null; // until the tick's task ends
        continue;
      }
      Ticks.Due d = Ticks.due(r.schedule(), e.next, now, r.missedTicks(), r.lateTolerance());
      for (Instant t : d.run()) {
        ticks.add(new Tick(e, t, false));
      }
      e.next = d.next();
      e.last = d.last();
      dues.put(e, d);
    }
    // Triggers last: a trigger's task is enqueued after every scheduled tick of the same pass.
    for (Entry e : entries.values()) {
      for (Instant t : e.triggers) {
        ticks.add(new Tick(e, t, true));
      }
      e.triggers.clear();
    }
  }

  private void enqueue(List<Tick> ticks, Instant now) {
    for (Tick t : ticks) {
      RecurringTask<?> r = t.entry().declared;
      if (!t.trigger()) {
        warnIfLate(r.name(), t.at(), now, r.lateTolerance());
      }
      Task<?> task = task(r, t.at());
      try {
        if (engine.offer(Access.core(task))) {
          meter.count(r.name(), "enqueued", 1);
          continue;
        }
        log.warn(
            "queue '{}': recurring task '{}': the queue is full, the tick of {} is dropped",
            queue, r.name(), t.at());
      } catch (RejectedExecutionException e) {
        stop(); // shut down: no tick runs again
        log.debug("queue '{}': recurring task '{}': the tick of {} was rejected", queue, r.name(), t.at());
      } catch (RuntimeException e) {
        log.warn("queue '{}': recurring task '{}': the tick of {} failed to enqueue", queue, r.name(), t.at(), e);
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
    } finally {
      lock.unlock();
    }
    poke();
  }

  // ---- RecurringTasks ----

  private Entry entry(String name) {
    Objects.requireNonNull(name, "name");
    Entry e = entries.get(name);
    if (e == null) {
      throw unknown(queue, name, entries.keySet());
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
      e.next = started() ? first(e.declared.schedule(), now) : null;
    } finally {
      lock.unlock();
    }
    poke();
    return true;
  }

  @Override
  public void triggerNow(String name) {
    Entry e = entry(name);
    Instant now = clock.instant();
    lock.lock();
    try {
      e.triggers.add(now);
    } finally {
      lock.unlock();
    }
    poke();
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
        return RecurringRunner.unknown(queue, name, List.of());
      }
    };
  }
}
