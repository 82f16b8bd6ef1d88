package dev.loomwork.internal;

import dev.loomwork.MissedTicks;
import dev.loomwork.RecurringTasks;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Collection;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The recurring tasks of one queue, in memory ({@link Recurrences}) or in a store ({@link
 * DurableRecurrences}): the timer and the firer they share, each subclass keeping only what a pass
 * does.
 *
 * <p><b>Threads.</b> One timer on the queue's scheduler thread ({@link Timers}) waits until the next
 * look at the time, at most {@link #MAX_WAIT} of it, so that a clock that jumps (or a test's clock
 * that is moved), or a pause, resume or trigger written by another process, is noticed within that
 * span. The timer only starts a virtual thread, the firer, which runs one {@link #pass()}: the
 * scheduler thread never runs user code (codecs, listeners, the clock) nor touches the database, and
 * no thread waits per schedule. The pass says how long to wait before the next one.
 *
 * <p><b>States</b>, guarded by {@link #lock}: not {@code started}; started and idle (a {@code timer}
 * may be set); {@code firing} (one firer runs; no timer is set); {@code stopped} (for good). At most
 * one firer runs at a time. A wake-up while it runs (the timer, or {@link #poke()} after a resume, a
 * trigger, the end of a fixed delay) sets {@code again}, and the firer runs another pass before it
 * goes idle: the check of {@code again} and the step to idle happen under one hold of the lock, so no
 * wake-up is lost between the end of a pass and the next timer.
 */
public abstract sealed class RecurringRunner implements RecurringTasks
    permits Recurrences, DurableRecurrences {
  static final Logger log = Log.LOG;

  /** The longest the firer waits before it looks at the time again. */
  static final Duration MAX_WAIT = Duration.ofSeconds(1);

  final QueueEngine engine;
  final String queue;
  final InstantSource clock;
  final TickMeter meter;

  /** Guards the fields below, and the subclass's state it says so of. */
  final ReentrantLock lock = new ReentrantLock();
  // ---- written under lock; volatile for the reads of started() and stopped() without it ----
  private volatile boolean started;
  private volatile boolean stopped;
  // ---- guarded by lock ----
  private boolean firing;
  private boolean again;
  private @Nullable Future<?> timer;

  RecurringRunner(QueueEngine engine, TickMeter meter) {
    this.engine = engine;
    this.queue = engine.name();
    this.clock = engine.clock;
    this.meter = meter;
  }

  /**
   * One pass of the firer, outside the lock: fires what is due. Never throws; a failure is logged
   * and the pass asks to look again after {@link #MAX_WAIT}.
   *
   * @return how long to wait before the next pass (capped at {@link #MAX_WAIT}), or null to wait
   *     only for a {@link #poke()}
   */
  abstract @Nullable Duration pass();

  /** Under the lock, as the queue starts: the subclass's first state. {@code now} is the clock's. */
  void starting(Instant now) {}

  /** Starts ticking, once the queue starts: the first pass runs at once. Idempotent. */
  public final void begin() {
    Instant now = clock.instant();
    lock.lock();
    try {
      if (started || stopped) {
        return;
      }
      started = true;
      starting(now);
      firing = true;
    } finally {
      lock.unlock();
    }
    startFirer();
  }

  /** Stops ticking, for good, as the queue shuts down; a pass running now finishes. Idempotent. */
  public final void stop() {
    lock.lock();
    try {
      stopped = true;
      cancelTimer();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Under the lock: cancels the timer, if one is set. (The scheduler's lock is taken under this one,
   * never the other way round: {@link Timers}.)
   */
  private void cancelTimer() {
    Future<?> t = timer;
    timer = null;
    if (t != null) {
      t.cancel(false);
    }
  }

  /** Whether {@link #stop()} was called (or the scheduler thread has stopped). */
  final boolean stopped() {
    return stopped;
  }

  /** Whether {@link #begin()} was called. */
  final boolean started() {
    return started;
  }

  /**
   * Asks for a pass now: starts a firer, or tells the running one to go round again. The timer calls
   * it on the scheduler thread; a resume, a trigger or a fixed delay's end, rather than wait for the
   * next look. Nothing before the queue starts or after it stops. Call it without holding the lock.
   */
  final void poke() {
    lock.lock();
    try {
      if (!started || stopped) {
        return;
      }
      if (firing) {
        again = true;
        return;
      }
      firing = true;
      cancelTimer(); // the timer that calls this, or one a pass set: this pass replaces it
    } finally {
      lock.unlock();
    }
    startFirer();
  }

  /** Outside the lock, with {@code firing} set by the caller: starts the firer's thread. */
  private void startFirer() {
    try {
      Thread.ofVirtual().name("loomwork-" + queue + "-recurring").start(this::fire);
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

  /** The firer: passes until no wake-up came during the last, then sets the timer for the next. */
  private void fire() {
    while (true) {
      Duration wait;
      try {
        wait = pass();
      } catch (RuntimeException | Error e) {
        log.error("queue '{}': a pass over its recurring tasks failed; looking again shortly", queue, e);
        wait = MAX_WAIT;
      }
      lock.lock();
      try {
        if (again && !stopped) {
          again = false;
          continue;
        }
        firing = false;
        if (!stopped && wait != null) {
          timer = later(wait.compareTo(MAX_WAIT) > 0 ? MAX_WAIT : wait);
        }
        return;
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * Under the lock: sets a timer on the queue's scheduler thread, or none if that has stopped (the
   * queue terminated: its owner shut the scheduler down, so no tick is to come).
   */
  private @Nullable Future<?> later(Duration wait) {
    try {
      return engine.timers.schedule(this::poke, Timers.nanos(wait));
    } catch (RejectedExecutionException e) {
      stopped = true;
      return null;
    }
  }

  // ---- what both log and throw alike ----

  /** The WARN of a tick that runs later than its tolerance; nothing for one on time. */
  final void warnIfLate(String name, Instant tick, Instant now, Duration tolerance) {
    Duration late = Duration.between(tick, now);
    if (late.compareTo(tolerance) > 0) {
      log.warn(
          "queue '{}': recurring task '{}': the tick of {} runs {} late (tolerance {})",
          queue, name, tick, late, tolerance);
    }
  }

  /**
   * Counts the ticks a pass skipped, and logs at WARN a set of missed ticks with what the policy did
   * with them.
   */
  final void skipped(String name, Ticks.Due due, Instant now, Duration tolerance, MissedTicks policy) {
    meter.count(name, "skipped", due.skipped());
    if (due.missed() > 0) {
      log.warn(
          "queue '{}': recurring task '{}' missed {} tick(s), the latest at {}, now {}"
              + " (tolerance {}); policy {}: {} run, {} skipped",
          queue, name, due.missed(), due.last(), now, tolerance, policy, due.missed() - due.skipped(),
          due.skipped());
    }
  }

  /** The error of a name that is no recurring task of the queue. */
  static IllegalArgumentException unknown(String queue, String name, Collection<String> names) {
    return new IllegalArgumentException(
        "name: '" + name + "' (expected: a recurring task of queue '" + queue + "': " + names + ")");
  }
}
