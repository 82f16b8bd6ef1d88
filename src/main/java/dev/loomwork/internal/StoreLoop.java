package dev.loomwork.internal;

import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The one shape of a durable store's background loops (the claimer, the flusher, the keeper of the
 * lease, the housekeeper, the listener), as db-scheduler's {@code RunUntilShutdown}: run a turn,
 * wait for a wake-up or the time the turn asked for, again until closed.
 *
 * <p><b>Failure.</b> A turn that throws could not reach the store. The loop counts it ({@code
 * loomwork.store.failures}), tells the store's {@link Outage} (which logs the outage once when it
 * starts and once when it ends, never per retry), and waits before the next turn: {@value
 * #FIRST_BACKOFF_MILLIS} ms after the first failure, doubling to a cap ({@link #backoffCap}, at most
 * {@value #MAX_BACKOFF_MILLIS} ms), each wait drawn between half and all of it, so that the loops of
 * many workers do not hit a recovering database in step. The first turn that returns ends the loop's
 * part in the outage.
 *
 * <p><b>Threads.</b> Each loop runs on a virtual thread of its own; only that thread runs {@link
 * #turn}, and {@code failures} is its own. {@link #stop} may be called from any thread; {@link #join}
 * waits for the loop's last turn, however often the caller is interrupted.
 */
abstract class StoreLoop implements Runnable {
  static final long FIRST_BACKOFF_MILLIS = 200;
  static final long MAX_BACKOFF_MILLIS = 5_000;

  /** What the loop does, for its thread's name, its log lines and its failure meter's tag. */
  final String operation;
  private final Outage outage;
  private final StoreMeters meters;
  private final Semaphore wake = new Semaphore(0);
  private volatile boolean closed;
  private @Nullable Thread thread;
  /** Failed turns in a row; the loop's thread only. */
  private int failures;

  StoreLoop(String operation, Outage outage, StoreMeters meters) {
    this.operation = operation;
    this.outage = outage;
    this.meters = meters;
  }

  /**
   * One turn of the loop: does its work against the store.
   *
   * @return how long to wait for the next turn, in nanoseconds (a wake-up ends the wait early; zero
   *     runs the next turn at once, {@link Long#MAX_VALUE} waits for a wake-up)
   * @throws Exception if the store could not be reached: the loop backs off and runs again
   */
  abstract long turn() throws Exception;

  /** After a failed turn, on the loop's thread, before it backs off. */
  void failed(Exception e) {}

  /** The longest wait after failures, in nanoseconds. */
  long backoffCap() {
    return TimeUnit.MILLISECONDS.toNanos(MAX_BACKOFF_MILLIS);
  }

  /** Asked to stop: unblocks whatever the turn waits on besides the wake-up (a connection). */
  void unblock() {}

  /** Starts the loop on a virtual thread named after the queue and the operation. */
  final void start(String queue) {
    thread = Thread.ofVirtual().name("loomwork-" + queue + "-" + operation).start(this);
  }

  /** Ends the wait of the current turn early. */
  final void wake() {
    wake.release();
  }

  final boolean closed() {
    return closed;
  }

  /** Asks the loop to stop after its current turn; returns at once. */
  final void stop() {
    closed = true;
    wake.release();
    unblock();
  }

  /** Waits for the loop's thread to end (after {@link #stop}); an interrupt is kept, not obeyed. */
  final void join() {
    Thread t = thread;
    if (t != null) {
      Uninterruptibles.join(t);
    }
  }

  /**
   * On the loop's thread: the store answered. Ends this loop's part in an outage; a turn that runs
   * for long (the listener's) calls it once it got its answer.
   */
  final void healthy() {
    if (failures > 0) {
      failures = 0;
      outage.recovered(this);
    }
  }

  @Override
  public final void run() {
    while (!closed) {
      long waitNanos;
      try {
        waitNanos = turn();
        healthy();
      } catch (Exception e) {
        if (closed) {
          break;
        }
        failures++;
        meters.failed(operation);
        outage.failed(this, e);
        failed(e);
        waitNanos = backoff(failures);
      }
      await(waitNanos);
    }
  }

  /** The wait after {@code n} failures in a row: doubling from the first to the cap, with jitter. */
  final long backoff(int n) {
    long first = TimeUnit.MILLISECONDS.toNanos(FIRST_BACKOFF_MILLIS);
    long cap = Math.max(first, Math.min(backoffCap(), TimeUnit.MILLISECONDS.toNanos(MAX_BACKOFF_MILLIS)));
    long full = Math.min(cap, first << Math.min(n - 1, 20));
    return full / 2 + ThreadLocalRandom.current().nextLong(full / 2 + 1);
  }

  /** Waits for a wake-up or {@code nanos}, then takes every wake-up that came. */
  private void await(long nanos) {
    try {
      if (nanos == Long.MAX_VALUE) {
        wake.acquire();
      } else if (nanos > 0) {
        wake.tryAcquire(nanos, TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // nobody interrupts a store loop; keep it if one does
      return;
    }
    wake.drainPermits();
  }
}
