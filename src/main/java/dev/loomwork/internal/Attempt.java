package dev.loomwork.internal;

import dev.loomwork.internal.Verdict.Fate;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;
import dev.loomwork.Job;
import java.util.Objects;
import java.util.concurrent.Future;
import org.jspecify.annotations.Nullable;

/**
 * One attempt of a task, from start to end, on its own thread; and the race between that thread
 * finishing and someone cutting it.
 *
 * <h2>The attempt's life ({@link #run()}, top to bottom)</h2>
 *
 * Begin (publish the thread), check the deadline, arm the timeout timer, bind the {@link
 * AttemptContext} and run the body through the {@link Runner}, disarm, settle the race, judge the
 * attempt ({@link Verdict}, outside any lock: the retry rules, the clock, the random source), end it
 * in the books ({@link QueueState#endAttempt}, under the lock, nothing there can throw), then publish
 * outside the lock (metrics, events, and the task's publication if it ended).
 *
 * <h2>The cut race</h2>
 *
 * {@code cut} starts null and is set once, by compare-and-set: to a {@link Cut} reason by whoever
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
final class Attempt implements Runnable {
  private static final VarHandle CUT;

  static {
    try {
      CUT = MethodHandles.lookup().findVarHandle(Attempt.class, "cut", Cut.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final QueueEngine queue;
  final TaskCore<?> task;
  final int number;

  private volatile @Nullable Thread thread;
  private volatile @Nullable Cut cut;

  Attempt(QueueEngine queue, TaskCore<?> task, int number) {
    this.queue = queue;
    this.task = task;
    this.number = number;
  }

  /** The attempt thread: the whole attempt. Never throws (the queue's scope assumes it). */
  @Override
  public void run() {
    long start = System.nanoTime();
    boolean ran = false;
    Object result = null;
    Throwable failure = null;
    Object observation = null; // the attempt's observation, only on a queue that traces
    if (begin()) {
      Future<?> timer = null;
      try {
        Instant deadline = task.deadline();
        if (deadline != null && !queue.clock.instant().isBefore(deadline)) {
          cut(Cut.DEADLINE); // no attempt starts after the deadline
        } else {
          ran = true;
          task.attempts = number;
          queue.publisher.started(task, number, start);
          Duration timeout = task.resolvedPolicy().attemptTimeout();
          if (timeout != null) {
            timer = queue.timers.schedule(() -> cutAndInterrupt(Cut.TIMEOUT), Timers.nanos(timeout));
          }
          Tracing tracing = queue.tracing;
          if (tracing != null) {
            observation = tracing.start(task);
          }
          result = call(task, observation);
        }
      } catch (Throwable e) {
        failure = e;
      } finally {
        if (timer != null) {
          timer.cancel(false);
        }
      }
    }
    Cut c = settle();
    try {
      end(ran, result, failure, c, System.nanoTime() - start, observation);
    } catch (Throwable e) {
      Log.LOG.error("task '{}': the queue failed to end attempt {}", task.name(), number, e);
    }
  }

  /**
   * The dispatcher, when the thread factory made no thread: the attempt fails with {@code e}, on the
   * dispatcher's thread. Listeners still see the attempt start, so that every end pairs with one.
   */
  void failToStart(Throwable e) {
    task.attempts = number;
    queue.publisher.started(task, number, System.nanoTime());
    Cut c = CUT.compareAndSet(this, null, Cut.DONE) ? null : cut; // no thread to clear
    end(true, null, e, c, 0, null);
  }

  private <T extends @Nullable Object> T call(TaskCore<T> t, @Nullable Object observation)
      throws Exception {
    AttemptContext context = new AttemptContext(queue, t, this);
    ScopedValue.Carrier bound = ScopedValue.where(AttemptContext.CURRENT, context);
    // Nothing to carry is the common case, and costs nothing: no wrapper is made.
    Job<T> job = observation == null && t.mdc == null ? t.job : Carried.job(t.job, observation, t.mdc);
    if (queue.nestedScopes) {
      return bound.call(() -> queue.runner.runAttempt(queue.threadFactory, () -> job.call(context)));
    }
    return bound.call(() -> job.call(context)); // the attempt's thread is the body's
  }

  private void end(
      boolean ran,
      @Nullable Object result,
      @Nullable Throwable failure,
      @Nullable Cut c,
      long nanos,
      @Nullable Object observation) {
    TaskCore<?> t = task;
    Verdict v =
        ran && failure == null && c == null
            ? Verdict.SUCCESS // the common case: no task name to format, nothing to decide
            : Verdict.of(
                ran, failure, c, t.resolvedPolicy(), number, t.name(), t.deadline(), t.error(),
                queue.clock, queue.random);
    if (observation != null) {
      // Before the end is published: whoever sees the task end finds its attempt's span ended.
      Objects.requireNonNull(queue.tracing).stop(observation, v.outcome(), v.error());
    }
    Publisher publisher = queue.publisher;
    publisher.hold(t); // this attempt's end (and retry) before the next attempt's start
    try {
      Fate fate = queue.state.endAttempt(t, v, ran, result);
      if (ran) {
        publisher.attemptEnded(t, number, v, nanos);
      }
      queue.store.publish(publisher, t, number, fate, v); // at once, or once the store wrote it
    } finally {
      publisher.dropHold(t);
    }
  }

  // ---- the cut race -------------------------------------------------------------------------

  /** On the attempt thread, before the body: publishes the thread; false if already cut. */
  private boolean begin() {
    thread = Thread.currentThread();
    return cut == null;
  }

  /** Cuts the attempt for {@code reason}; true if this call won. The winner must call interrupt. */
  boolean cut(Cut reason) {
    return CUT.compareAndSet(this, null, reason);
  }

  /** Cuts the attempt and, if this call won, interrupts it. */
  void cutAndInterrupt(Cut reason) {
    if (cut(reason)) {
      interrupt();
    }
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
  private @Nullable Cut settle() {
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

  /** The reason the attempt was cut, or null if it was not (yet). */
  @Nullable Cut reason() {
    Cut c = cut;
    return c == Cut.DONE ? null : c;
  }
}
