package dev.loomwork.internal;

import dev.loomwork.QueueStats;
import dev.loomwork.TaskState;
import dev.loomwork.internal.Counts.Count;
import dev.loomwork.internal.Verdict.Fate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The books of one queue, and the only lock. Every field here is guarded by {@link #lock}; every
 * method takes it (and says so) or asserts that its caller holds it. Nothing here calls user code,
 * logs, or interrupts a thread: methods decide and change the books, and return what their caller
 * must do once the lock is released.
 *
 * <h2>Where a task is</h2>
 *
 * A task not yet terminal is in exactly one place: pending in the {@link TaskStore} ({@code READY}
 * or {@code WAITING}) or in the {@link RunningList} ({@code RUNNING}, holding one of the {@code
 * concurrency} permits). So the tasks not yet terminal number {@code ready + waiting + running}.
 *
 * <h2>A task's transitions, and the method that makes each</h2>
 *
 * <pre>
 *   NEW ──────► READY | WAITING    admit (a compare-and-set freezes the configuration)
 *   NEW ──────► CANCELLED          TaskCore.cancel, without this lock (never enqueued)
 *   WAITING ──► READY              MemoryStore.moveDue (its alarm), at its not-before or retry time
 *   READY ────► RUNNING            takeBatch (the dispatcher)
 *   RUNNING ──► SUCCEEDED | FAILED | CANCELLED | READY | WAITING
 *                                  endAttempt, from the attempt's {@link Verdict}
 *   READY | WAITING ──► CANCELLED  stop (cancel), cancelAll (shutdown)
 *   READY | WAITING ──► FAILED     stop (its deadline passed)
 * </pre>
 *
 * A running task is never ended by anyone but its attempt thread: a cancel, a deadline or a shutdown
 * cuts the attempt ({@link Attempt}), and {@code endAttempt} ends the task. A task whose cancel was
 * accepted ({@code cancelRequested}) always ends {@code CANCELLED}, even if its body returned first.
 *
 * <h2>The books</h2>
 *
 * The fields, the run states, the conditions, the lock order and every read are in {@link
 * QueueBooks}, which this class extends; this class makes every change.
 */
final class QueueState extends QueueBooks {
  /**
   * What {@link #stop} did: ended a pending task ({@code ended}: and its caller publishes it, see
   * {@link TaskStore#ended}), cut a running attempt, or nothing.
   */
  record Stopped(boolean accepted, boolean ended, @Nullable Attempt toCut) {
    static final Stopped NOTHING = new Stopped(false, false, null);
  }

  QueueState(
      String name,
      String instance,
      int concurrency,
      int capacity,
      Timers timers,
      TaskStore.Factory store,
      Consumer<TaskCore<?>> deadlinePassed) {
    super(name, instance, concurrency, capacity, timers, store, deadlinePassed);
  }

  // ---- tasks that arrive from the store, and leave for it ------------------------------------

  /**
   * Takes the lock; files tasks that arrived from the store (claimed by its own thread) as ready,
   * each counted as submitted here, with its deadline timer ({@code deadlineNanos[i]} from now,
   * negative for none).
   *
   * @return false, filing nothing, if the queue no longer accepts: the caller hands them back
   */
  boolean arrive(QueueEngine engine, List<TaskCore<?>> tasks, long[] deadlineNanos) {
    lock.lock();
    try {
      if (accepting != Accepting.OPEN) {
        return false;
      }
      for (int i = 0; i < tasks.size(); i++) {
        TaskCore<?> t = tasks.get(i);
        t.queue = engine;
        t.number = counts.get(Count.SUBMITTED) + 1;
        if (!t.freeze(TaskState.READY)) {
          throw new AssertionError("a task from the store was touched before it was filed");
        }
        counts.add(Count.SUBMITTED);
        store.add(t, 0);
        if (deadlineNanos[i] >= 0) {
          t.deadlineTimer = timers.schedule(() -> deadlinePassed.accept(t), deadlineNanos[i]);
        }
      }
      workAvailable.signal();
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the lock (the store's threads may hold it already); surrenders every task of this process
   * to the store (the store lost its hold on them): every pending task is handed back at
   * once, every running attempt is cut, and {@code endAttempt} hands its task back; none of them
   * leaves a trace (nothing written, nothing published but the hand-back's debug line).
   *
   * @return the attempts to interrupt, once the lock is released
   */
  List<Attempt> surrenderAll() {
    lock.lock();
    try {
      List<Attempt> toCut = new ArrayList<>();
      store.removeAll(
          t -> {
            t.surrendered = true;
            handBack(t);
          });
      for (TaskCore<?> t = running.head; t != null; t = t.nextRunning) {
        t.surrendered = true;
        Attempt a = t.current;
        if (a != null && a.cut(Cut.CANCEL)) {
          toCut.add(a);
        }
      }
      if (lock.hasWaiters(roomAvailable)) {
        roomAvailable.signalAll();
      }
      workAvailable.signal();
      if (accepting != Accepting.OPEN) {
        progress.signalAll();
      }
      return toCut;
    } finally {
      lock.unlock();
    }
  }

  // ---- producers ----------------------------------------------------------------------------

  /**
   * Takes the lock; accepts {@code t} if the queue is open and has room, waiting for room as {@code
   * waitNanos} says (negative: as long as it takes; zero: not at all).
   *
   * @param engine the queue, written into the task
   * @param due when its first attempt is due by the queue's clock, or null if at once
   * @param delayNanos how long its first attempt must wait (not counted against capacity if > 0)
   * @param deadlineNanos when its deadline passes, from now; negative if it has none
   * @param countFull whether a {@code FULL} refusal counts as rejected (false: the caller waits for
   *     room elsewhere, as a suspending enqueue does)
   * @return null if accepted, else why not (counted as rejected, but for {@code INTERRUPTED},
   *     {@code DUPLICATE} and an uncounted {@code FULL})
   * @throws IllegalStateException if the task was already enqueued or cancelled
   */
  @Nullable Refusal admit(
      QueueEngine engine,
      TaskCore<?> t,
      @Nullable Instant due,
      long delayNanos,
      long deadlineNanos,
      long waitNanos,
      boolean countFull) {
    lock.lock();
    try {
      t.checkEnqueueable();
      long nanos = waitNanos;
      // A refusal, and a producer before it waits for room, take a part in delivering events
      // (Publisher.enter; see Refusal). While the queue is open, or shut down but not terminated, the
      // owner holds its part: enter() succeeds, and exit() is never the last (no listener runs here).
      boolean waited = false;
      while (true) {
        if (accepting != Accepting.OPEN) {
          counts.add(Count.REJECTED);
          if (!waited && owner == Owner.TERMINATED) {
            return Refusal.TERMINATED; // the owner may have given up its part: no event
          }
          waited = waited || engine.publisher.enter();
          return Refusal.SHUT_DOWN; // with its part: the rejection comes before onTerminated
        }
        if (delayNanos > 0 || store.readyCount() < capacity) {
          break;
        }
        if (nanos == 0) {
          if (countFull) {
            counts.add(Count.REJECTED);
            waited = waited || engine.publisher.enter();
          } else if (waited) {
            engine.publisher.exit();
          }
          return Refusal.FULL;
        }
        waited = waited || engine.publisher.enter();
        try {
          if (nanos < 0) {
            roomAvailable.await();
          } else {
            nanos = Math.max(roomAvailable.awaitNanos(nanos), 0); // at 0: one more look, then FULL
          }
        } catch (InterruptedException e) {
          if (owner == Owner.TERMINATED) { // its part may be the last: given up outside the lock
            Thread.currentThread().interrupt();
            counts.add(Count.REJECTED);
            return Refusal.SHUT_DOWN;
          }
          engine.publisher.exit();
          return Refusal.INTERRUPTED; // the producer gave up waiting: not refused work, not counted
        }
      }
      if (waited) {
        engine.publisher.exit();
      }
      String fixedId = t.fixedId();
      if (fixedId != null && liveIds.putIfAbsent(fixedId, t) != null) {
        return Refusal.DUPLICATE;
      }
      // Plain writes, published by the compare-and-set that freezes the task.
      t.queue = engine;
      t.number = counts.get(Count.SUBMITTED) + 1;
      if (!t.freeze(delayNanos > 0 ? TaskState.WAITING : TaskState.READY)) {
        if (fixedId != null) {
          liveIds.remove(fixedId, t);
        }
        t.queue = null;
        t.number = 0;
        throw new IllegalStateException("task '" + t.name() + "' cannot be enqueued: it was cancelled");
      }
      counts.add(Count.SUBMITTED);
      if (delayNanos > 0) {
        t.nextAttemptAt = due;
        store.add(t, Timers.plus(store.nanoTime(), delayNanos));
      } else {
        store.add(t, 0); // due at once: no clock read on the hot path
        workAvailable.signal();
      }
      if (deadlineNanos >= 0) {
        t.deadlineTimer = timers.schedule(() -> deadlinePassed.accept(t), deadlineNanos);
      }
      return null;
    } finally {
      lock.unlock();
    }
  }

  // ---- the dispatcher -----------------------------------------------------------------------

  /** Takes the lock and becomes the owner: the queue runs once. */
  void becomeOwner() {
    lock.lock();
    try {
      if (owner != Owner.NEW) {
        throw new IllegalStateException(
            "queue '" + name + "' was already started: start() or run() may be called once");
      }
      owner = Owner.RUNNING;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the lock; waits until a task is ready and a permit free, then moves up to {@code
   * attempts.length} tasks to {@code RUNNING}, each with its new attempt.
   *
   * @return how many attempts were made, or -1 when the dispatcher is done (stopping, or drained)
   */
  int takeBatch(QueueEngine engine, Attempt[] attempts) throws InterruptedException {
    lock.lockInterruptibly();
    try {
      while (true) {
        if (accepting == Accepting.STOP) {
          return -1;
        }
        int n = 0;
        TaskCore<?> t;
        while (n < attempts.length && running.size() < concurrency && (t = store.take()) != null) {
          running.link(t);
          t.state(TaskState.RUNNING);
          Attempt a = new Attempt(engine, t, t.attempts() + 1);
          t.current = a;
          attempts[n++] = a;
        }
        if (n > 0) {
          if (lock.hasWaiters(roomAvailable)) {
            roomAvailable.signalAll();
          }
          return n;
        }
        if (accepting == Accepting.SHUTDOWN && outstanding() == 0) {
          return -1;
        }
        workAvailable.await();
      }
    } finally {
      lock.unlock();
    }
  }

  // ---- attempts and cuts --------------------------------------------------------------------

  /**
   * Takes the lock; ends an attempt by its verdict: the task ends, or is filed for its retry. Every
   * value was computed before (see {@link Verdict}), so nothing here can throw halfway.
   *
   * @param ran whether the attempt started (only those are counted)
   * @param result the body's result, for a success
   * @return what became of the task: {@code RETRY} if it was filed again, else its terminal fate
   */
  Fate endAttempt(TaskCore<?> t, Verdict v, boolean ran, @Nullable Object result) {
    lock.lock();
    try {
      running.unlink(t);
      t.current = null;
      if (ran) {
        counts.attemptEnded(v.outcome());
      }
      Fate fate = v.fate();
      if (fate == Fate.FAILED || fate == Fate.RETRY) {
        t.error = v.error();
      }
      fate = store.judge(t, fate, accepting == Accepting.STOP);
      switch (fate) {
        case SUCCEEDED -> t.result = result;
        case RETRY -> {
          counts.add(Count.RETRIES);
          t.nextAttemptAt = v.retryDelayNanos() > 0 ? v.retryAt() : null;
          if (!store.retry(t, v)) {
            handBack(t);
          }
        }
        case RELEASED -> {
          t.nextAttemptAt = null;
          handBack(t);
          store.released(t);
        }
        default -> {
          if (t.cutByShutdown && fate == Fate.CANCELLED) {
            shutdownCancelled.add(snapshot(t, TaskState.RUNNING));
          }
        }
      }
      if (fate != Fate.RETRY && fate != Fate.RELEASED) {
        end(t, fate);
        store.ended(t, fate); // the caller publishes it, or the store once it has written it
      }
      int ready = store.readyCount();
      store.freed(concurrency - running.size() - ready, ready);
      // A freed permit matters to the dispatcher only if work waits for it (a new task signals by
      // itself) or if it must notice the end of a shutdown; otherwise let it sleep.
      if (ready > 0 || accepting != Accepting.OPEN) {
        workAvailable.signal();
      }
      if (accepting != Accepting.OPEN) {
        progress.signalAll();
      }
      return fate;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the lock; ends a task for {@code reason} ({@code CANCEL} or {@code DEADLINE}): a pending
   * task at once (cancelled, or failed with {@code deadlineError}), a running one by cutting its
   * attempt, whose thread then ends the task. A cancel of a running task is accepted once, and its
   * task then ends {@code CANCELLED} whatever its attempt does.
   */
  Stopped stop(TaskCore<?> t, Cut reason, @Nullable Throwable deadlineError) {
    lock.lock();
    try {
      switch (t.state()) {
        case READY, WAITING -> {
          store.remove(t);
          Fate fate = reason == Cut.DEADLINE ? Fate.FAILED : Fate.CANCELLED;
          if (reason == Cut.DEADLINE) {
            t.error = deadlineError;
          }
          end(t, fate);
          boolean publish = store.ended(t, fate);
          int ready = store.readyCount();
          store.freed(concurrency - running.size() - ready, ready);
          if (lock.hasWaiters(roomAvailable)) {
            roomAvailable.signalAll();
          }
          workAvailable.signal(); // the dispatcher may be waiting for the last task to go
          if (accepting != Accepting.OPEN) {
            progress.signalAll();
          }
          return new Stopped(true, publish, null);
        }
        case RUNNING -> {
          if (reason == Cut.CANCEL) {
            if (t.cancelRequested) {
              return Stopped.NOTHING;
            }
            t.cancelRequested = true;
          }
          Attempt a = t.current;
          return new Stopped(true, false, a != null && a.cut(reason) ? a : null);
        }
        default -> {
          return Stopped.NOTHING;
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the lock; stops the queue: cancels every pending task (each goes to {@code ended}) and
   * cuts every running attempt (each goes to {@code toCut}).
   *
   * @return true if nobody had started the queue: the caller must start its owner, which will find
   *     nothing to do and terminate
   */
  boolean cancelAll(List<TaskCore<?>> ended, List<Attempt> toCut) {
    lock.lock();
    try {
      advance(Accepting.STOP);
      store.removeAll(
          t -> {
            if (store.handBackOnStop(t)) {
              handBack(t); // the store takes it back: its attempt given back, no end here
              return;
            }
            shutdownCancelled.add(snapshot(t, t.state()));
            end(t, Fate.CANCELLED);
            ended.add(t);
          });
      for (TaskCore<?> t = running.head; t != null; t = t.nextRunning) {
        t.cutByShutdown = true;
        Attempt a = t.current;
        if (a != null && a.cut(Cut.CANCEL)) {
          toCut.add(a);
        }
      }
      return signalAllAndBecomeOwner();
    } finally {
      lock.unlock();
    }
  }

  // ---- shutdown -----------------------------------------------------------------------------

  /**
   * Takes the lock; stops accepting (a drain: retries still run).
   *
   * @return the counts at that moment, or null if the queue was already shutting down; and whether
   *     the caller must start the owner (nobody did), through {@code startOwner[0]}
   */
  @Nullable QueueStats beginDrain(boolean[] startOwner) {
    lock.lock();
    try {
      boolean first = accepting == Accepting.OPEN;
      advance(Accepting.SHUTDOWN);
      startOwner[0] = signalAllAndBecomeOwner();
      return first ? statsLocked() : null;
    } finally {
      lock.unlock();
    }
  }

  /** Under the lock: wakes every waiter; becomes the owner if nobody started the queue. */
  private boolean signalAllAndBecomeOwner() {
    assert lock.isHeldByCurrentThread();
    workAvailable.signalAll();
    roomAvailable.signalAll();
    progress.signalAll();
    if (owner == Owner.NEW) {
      owner = Owner.RUNNING; // start it, so that what was accepted still reaches an end
      return true;
    }
    return false;
  }

  /** Takes the lock; the owner, last: every attempt thread has ended. */
  void terminated() {
    lock.lock();
    try {
      advance(Accepting.SHUTDOWN);
      owner = Owner.TERMINATED;
      progress.signalAll();
      roomAvailable.signalAll();
    } finally {
      lock.unlock();
    }
  }

  // ---- reading ------------------------------------------------------------------------------

}
