package dev.loomwork.internal;

import org.jspecify.annotations.Nullable;

/**
 * The order of one task's events: which thread may publish the task's next event. {@link TaskCore}
 * extends it, so that the two fields sit in the task (no object of their own per task) while the
 * hand-off that orders events is read here, apart from the task's life (JCTools' field classes).
 *
 * <p>A thread that is about to make the task visible to others holds its events ({@link
 * #holdEvents}): the producer from just before the task is admitted until its {@code Enqueued} event
 * is out, and an attempt thread from just before its attempt is ended in the books until its last
 * event is out. Any other thread that publishes an event of the task first waits for its turn
 * ({@link #awaitEventTurn}). Used only while the queue has listeners (see {@link Publisher#hold}).
 */
abstract class EventTurn {
  /** The thread that has events of this task still to publish first, or null. Set and cleared by it. */
  private volatile @Nullable Thread eventsHeldBy;
  /** Whether a thread ever waited for its turn: only then does dropping the hold take the monitor. */
  private volatile boolean eventWaiters;

  /**
   * The calling thread holds this task's events: it must call {@link #dropEventHold()} afterwards.
   * Called before the task becomes visible to another thread (before it is admitted, or filed again
   * for its retry), so that no other thread's event of this task can come first.
   */
  final void holdEvents() {
    eventsHeldBy = Thread.currentThread();
  }

  /** The holder has published its events: wakes whoever waits for its turn. */
  final void dropEventHold() {
    eventsHeldBy = null;
    // A Dekker handshake with awaitEventTurn on two volatiles: a waiter that we do not see sets the
    // flag after our null, so it reads null and does not wait.
    if (eventWaiters) {
      synchronized (this) {
        notifyAll();
      }
    }
  }

  /**
   * Waits, uninterruptibly (the interrupt flag is restored), until no other thread holds this task's
   * events; returns at once if none does or the calling thread does. Never called under a lock.
   */
  final void awaitEventTurn() {
    Thread holder = eventsHeldBy;
    Thread me = Thread.currentThread();
    if (holder == null || holder == me) {
      return;
    }
    boolean interrupted = false;
    synchronized (this) { // this monitor guards nothing else; only dropEventHold takes it
      eventWaiters = true;
      while ((holder = eventsHeldBy) != null && holder != me) {
        try {
          wait();
        } catch (InterruptedException e) {
          interrupted = true; // an attempt cut meanwhile sees the flag in its body
        }
      }
    }
    if (interrupted) {
      me.interrupt();
    }
  }
}
