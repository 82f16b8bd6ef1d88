package dev.loomwork.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.jspecify.annotations.Nullable;

/**
 * One attempt of a task, and the race between the attempt thread finishing and someone cutting it.
 *
 * <p>{@code cut} starts null and is set once, by compare-and-set: to a {@link Cut} reason by whoever
 * cuts the attempt (the scheduler at a timeout or deadline, a cancel, a shutdown), or to {@link
 * Cut#DONE} by the attempt thread when the body has returned. Whoever wins decides: a cutter that wins
 * interrupts the thread; an attempt thread that wins is never interrupted afterwards.
 *
 * <p>Interrupts are delivered under this object's monitor, and the attempt thread, having lost the
 * race, clears {@code thread} under the same monitor before clearing its interrupt flag. So no
 * interrupt meant for this attempt can land later, in the queue's bookkeeping or in a user's
 * after-callback. The start is a Dekker handshake on two volatiles: the thread publishes itself, then
 * reads {@code cut}; a cutter sets {@code cut}, then reads {@code thread}. At least one of them sees
 * the other, so an attempt cut before its body starts either never starts it or is interrupted.
 */
final class Attempt {
  private static final VarHandle CUT;

  static {
    try {
      CUT = MethodHandles.lookup().findVarHandle(Attempt.class, "cut", Cut.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** Why an attempt was cut; {@code DONE} marks an attempt whose body returned first. */
  enum Cut {
    TIMEOUT,
    DEADLINE,
    CANCEL,
    DONE
  }

  final int number;

  private volatile @Nullable Thread thread;
  private volatile @Nullable Cut cut;

  Attempt(int number) {
    this.number = number;
  }

  /** On the attempt thread, before the body: publishes the thread; false if already cut. */
  boolean begin() {
    thread = Thread.currentThread();
    return cut == null;
  }

  /** Cuts the attempt for {@code reason}; true if this call won. The winner must call interrupt. */
  boolean cut(Cut reason) {
    return CUT.compareAndSet(this, null, reason);
  }

  /** Interrupts the attempt thread, if it is still in the attempt. */
  synchronized void interrupt() {
    Thread t = thread;
    if (t != null) {
      t.interrupt();
    }
  }

  /**
   * On the attempt thread, after the body: closes the race. Returns the reason the attempt was cut, or
   * null if the body returned first. Either way no interrupt for this attempt can arrive afterwards.
   */
  @Nullable Cut settle() {
    if (CUT.compareAndSet(this, null, Cut.DONE)) {
      thread = null;
      return null;
    }
    synchronized (this) {
      thread = null;
    }
    Thread.interrupted(); // the interrupt was ours, meant for the body; do not leak it
    return cut;
  }

  /**
   * For an attempt whose thread never started: closes the race without touching the calling thread's
   * interrupt status (no interrupt can have been aimed at it, since no attempt thread was published).
   */
  @Nullable Cut settleUnstarted() {
    return CUT.compareAndSet(this, null, Cut.DONE) ? null : cut;
  }

  /** The reason the attempt was cut, or null if it was not (yet). */
  @Nullable Cut reason() {
    Cut c = cut;
    return c == Cut.DONE ? null : c;
  }
}
