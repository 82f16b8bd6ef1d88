package dev.loomwork.internal;

import dev.loomwork.QueueStats;
import dev.loomwork.ShutdownReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;

/**
 * The three shutdowns, run on the caller's thread.
 *
 * <ul>
 *   <li>{@link #drain()}: stop accepting, start the owner if nobody did, wait for it to terminate.
 *   <li>{@link #drain(Duration)}: the same until a deadline, then {@link #stop}.
 *   <li>{@link #stop}: cancel every pending task and cut every running attempt (before the owner is
 *       ever started, if nobody started it, so that a never-started queue runs nothing), wait up to
 *       {@code abandonAfter} for the cut attempts, and report; those still running are abandoned.
 * </ul>
 *
 * Every shutdown dismisses the owner's keeper thread when it returns (see {@link Dispatcher}).
 */
final class Shutdown {
  private static final Logger log = Log.LOG;

  private final QueueEngine queue;
  private final long abandonAfterNanos;
  private final long progressNanos;
  /** Whether the queue's last line (drained, or stopped) has been logged: once per queue. */
  private final AtomicBoolean endLogged = new AtomicBoolean();
  /** When the first shutdown call began ({@link #began}), which the last line counts from. */
  private long firstStart;
  private boolean begun; // guarded by this

  Shutdown(QueueEngine queue, Duration abandonAfter, Duration progressInterval) {
    this.queue = queue;
    this.abandonAfterNanos = Timers.nanos(abandonAfter);
    this.progressNanos = Timers.nanos(progressInterval);
  }

  /** Stops accepting and drains everything; returns when the queue has terminated. */
  void drain() {
    if (AttemptContext.isInside(queue)) {
      throw new IllegalStateException(
          "queue '"
              + queue.name()
              + "': shutdown() from one of its own tasks would wait for that task forever; call"
              + " shutdown(Duration) or shutdownNow(), or shut down from outside the queue");
    }
    long start = System.nanoTime();
    began(start);
    try {
      beginDrain();
      awaitTerminated(start, Long.MAX_VALUE);
      logDrained(start);
    } catch (InterruptedException e) {
      log.info("queue '{}': interrupted while draining; cancelling what is left", queue.name());
      stop(start);
      Thread.currentThread().interrupt();
    } finally {
      queue.dispatcher.dismissKeeper();
    }
  }

  /** Drains until {@code timeout}, then cancels what is left and reports it. */
  ShutdownReport drain(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    long nanos = Timers.nanos(timeout);
    if (nanos <= 0) {
      return stopNow(); // no time to drain: nothing may start
    }
    long start = System.nanoTime();
    began(start);
    boolean interrupted = false;
    try {
      beginDrain();
      if (awaitTerminated(start, nanos)) {
        logDrained(start);
        return stop(start, true);
      }
      log.info(
          "queue '{}': shutdown deadline of {} passed; cancelling what is left", queue.name(), timeout);
    } catch (InterruptedException e) {
      interrupted = true;
      log.info("queue '{}': interrupted while draining; cancelling what is left", queue.name());
    } finally {
      queue.dispatcher.dismissKeeper();
    }
    ShutdownReport report = stop(start);
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return report;
  }

  /** Cancels everything at once and reports it. */
  ShutdownReport stopNow() {
    long start = System.nanoTime();
    began(start);
    return stop(start);
  }

  /**
   * Stops the queue: cancels every pending task and cuts every running attempt, then publishes the
   * cancelled tasks on this thread. Called by the shutdowns, and by the owner when {@code run()} is
   * interrupted or the dispatcher fails.
   */
  void cancelAll() {
    List<TaskCore<?>> ended = new ArrayList<>();
    List<Attempt> toCut = new ArrayList<>();
    if (queue.state.cancelAll(ended, toCut)) {
      queue.dispatcher.startOwner(); // it finds the queue stopped, and terminates
    }
    for (Attempt a : toCut) {
      a.interrupt();
    }
    for (int i = 0; i < ended.size(); i++) {
      queue.publisher.publish(ended.get(i));
      ended.set(i, null); // a million cancelled tasks need not all stay reachable until the end
    }
  }

  private void beginDrain() {
    boolean[] startOwner = new boolean[1];
    QueueStats s = queue.state.beginDrain(startOwner);
    if (startOwner[0]) {
      queue.dispatcher.startOwner();
    }
    if (s != null) {
      log.info(
          "queue '{}': shutting down with {} ready, {} running, {} waiting",
          queue.name(), s.ready(), s.running(), s.waiting());
    }
  }

  /** Waits for the owner to terminate, logging progress; returns whether it terminated in time. */
  private boolean awaitTerminated(long start, long timeoutNanos) throws InterruptedException {
    long end = Timers.plus(start, timeoutNanos);
    long nextProgress = start + progressNanos;
    while (true) {
      long now = System.nanoTime();
      if (queue.state.awaitTerminated(Math.min(end - now, nextProgress - now))) {
        return true;
      }
      now = System.nanoTime();
      if (end - now <= 0) {
        return false;
      }
      if (nextProgress - now <= 0) {
        nextProgress = now + progressNanos;
        QueueStats s = queue.state.stats();
        log.info(
            "queue '{}': draining for {} ms: {} ready, {} running, {} waiting to retry",
            queue.name(), (now - start) / 1_000_000, s.ready(), s.running(), s.waiting());
      }
    }
  }

  /** Records when a shutdown call began; returns when the first one did. */
  private synchronized long began(long start) {
    if (!begun) {
      begun = true;
      firstStart = start;
    }
    return firstStart;
  }

  /**
   * The queue's last line after a drain, unless a cancelling shutdown stopped it (that shutdown
   * logs the last line, with what it cut) or the line was logged already.
   */
  private void logDrained(long start) {
    if (queue.state.isStopped() || !endLogged.compareAndSet(false, true)) {
      return;
    }
    QueueStats s = queue.state.stats();
    log.info(
        "queue '{}': drained in {} ms: {} succeeded, {} failed, {} cancelled{}",
        queue.name(),
        (System.nanoTime() - began(start)) / 1_000_000,
        s.succeeded(),
        s.failed(),
        s.cancelled(),
        unwritten(s.unwritten()));
  }

  /**
   * The last line's note of the ends the durable store did not write (counted in none of the
   * line's figures), or nothing if it wrote them all.
   */
  static String unwritten(long n) {
    return n == 0
        ? ""
        : "; " + n + " ended here but not written to the store (the rescuer runs them again once"
            + " this worker's lease expires)";
  }

  /** Cancels everything, waits up to {@code abandonAfter} for cut attempts, and reports. */
  private ShutdownReport stop(long start) {
    try {
      cancelAll();
      return stop(start, false);
    } finally {
      queue.dispatcher.dismissKeeper();
    }
  }

  /** Waits up to {@code abandonAfter} for the owner to terminate (unless it did), and reports. */
  private ShutdownReport stop(long start, boolean terminated) {
    long graceEnd = System.nanoTime() + abandonAfterNanos;
    boolean interrupted = false;
    while (!terminated) {
      try {
        queue.state.awaitTerminated(graceEnd - System.nanoTime());
        break;
      } catch (InterruptedException e) {
        interrupted = true; // keep waiting out the grace; the flag is restored below
      }
    }
    List<TaskCore<?>> abandoned = new ArrayList<>();
    ShutdownReport report =
        queue.state.report(abandoned, Duration.ofNanos(System.nanoTime() - start));
    for (TaskCore<?> t : abandoned) {
      queue.publisher.abandoned(t);
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    // One last line per queue: none if a drain logged it already (a shutdownNow() after the queue
    // drained, or a second shutdownNow()).
    if (!terminated && endLogged.compareAndSet(false, true)) {
      log.info(
          "queue '{}': stopped in {} ms: {} succeeded, {} failed, {} cancelled by the shutdown, {}"
              + " abandoned{}",
          queue.name(),
          (System.nanoTime() - began(start)) / 1_000_000,
          report.succeeded(),
          report.failed(),
          report.cancelled().size(),
          report.abandoned().size(),
          unwritten(report.unwritten()));
    }
    return report;
  }
}
