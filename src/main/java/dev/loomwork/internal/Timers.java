package dev.loomwork.internal;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * The queue's one clock: a single scheduler thread, and the saturating time arithmetic the engine
 * uses everywhere.
 *
 * <p><b>Contract: an action scheduled here changes the books and may interrupt a thread; it never
 * runs user code.</b> No body, listener, after-callback, future continuation, user clock or user
 * random source runs on the scheduler thread, so a slow callback can never make another task's
 * timer late. Whatever must be published after a timer fires (a pending task failing at its
 * deadline) is handed to a virtual thread; see {@link Publisher#publishLater}.
 *
 * <p>The scheduler is a one-thread {@link ScheduledThreadPoolExecutor} with remove-on-cancel: an
 * O(log n) heap of deadlines. Its thread is a daemon and times out when idle. Its lock is taken
 * under the queue's lock (when an alarm or a deadline timer is armed), never the other way round.
 */
final class Timers {
  private static final Logger log = Log.LOG;

  private final String queue;
  private final ScheduledThreadPoolExecutor scheduler;

  Timers(String queue) {
    this.queue = queue;
    this.scheduler =
        new ScheduledThreadPoolExecutor(
            1, Thread.ofPlatform().daemon(true).name(threadName(queue)).factory());
    scheduler.setRemoveOnCancelPolicy(true);
    scheduler.setKeepAliveTime(10, TimeUnit.SECONDS);
    scheduler.allowCoreThreadTimeOut(true);
  }

  /** The scheduler thread's name. */
  static String threadName(String queue) {
    return "loomwork-" + queue + "-scheduler";
  }

  /**
   * Runs {@code action} on the scheduler thread after {@code delayNanos} (at once if not positive).
   * An action that throws is logged; it never kills the scheduler.
   */
  Future<?> schedule(Runnable action, long delayNanos) {
    return scheduler.schedule(
        () -> {
          try {
            action.run();
          } catch (Throwable e) {
            log.error("queue '{}': a scheduler action failed", queue, e);
          }
        },
        Math.max(0, delayNanos),
        TimeUnit.NANOSECONDS);
  }

  /** The owner, last: stops the scheduler and waits for its thread (an action is short). */
  void shutdown() {
    scheduler.shutdownNow();
    Uninterruptibles.await(() -> {
      if (scheduler.awaitTermination(1, TimeUnit.MINUTES)) {
        return true;
      }
      log.warn("queue '{}': the scheduler thread is slow to stop", queue);
      return false;
    });
  }

  /** {@code d} in nanoseconds, saturated: spans beyond about 292 years are "forever". */
  static long nanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  /** {@code a + b} for non-negative {@code b}, saturated at {@link Long#MAX_VALUE}. */
  static long plus(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }

  /** {@code t + d} for non-negative {@code d}, saturated at {@link Instant#MAX} ("never"). */
  static Instant plus(Instant t, Duration d) {
    try {
      return t.plus(d);
    } catch (DateTimeException | ArithmeticException e) {
      return Instant.MAX;
    }
  }
}
