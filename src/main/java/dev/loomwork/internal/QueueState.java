package dev.loomwork.internal;

import dev.loomwork.QueueHealth;
import dev.loomwork.QueueLifecycle;
import dev.loomwork.QueueStats;
import dev.loomwork.ShutdownReport;
import dev.loomwork.TaskSnapshot;
import dev.loomwork.TaskState;
import dev.loomwork.internal.Attempt.Cut;
import dev.loomwork.internal.Counts.Count;
import dev.loomwork.internal.Verdict.Fate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
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
 * <h2>Run states</h2>
 *
 * {@link Accepting}: {@code OPEN → SHUTDOWN} (no new tasks; drain everything, retries included)
 * {@code → STOP} (pending tasks cancelled, running ones cut, no retry). {@link Owner}: {@code NEW →
 * RUNNING → TERMINATED}; the owner terminates once the dispatcher has nothing left to do and every
 * attempt thread has ended. Both only move forward ({@link #advance}).
 *
 * <h2>Conditions</h2>
 *
 * The dispatcher waits on {@code workAvailable} (a task became ready while a permit is free, or a
 * shutdown changed what "done" means); producers on {@code roomAvailable}; shutdowns on {@code
 * progress}, signalled on every change once the queue is no longer open.
 *
 * <h2>Lock order</h2>
 *
 * This lock, then the scheduler's (arming an alarm or a deadline timer). An {@link Attempt}'s
 * monitor and the fallback runner's thread-set lock are leaves, never held while taking this one.
 */
final class QueueState {
  enum Accepting { OPEN, SHUTDOWN, STOP }

  enum Owner { NEW, RUNNING, TERMINATED }

  /** Why an enqueue was refused. */
  enum Refusal { SHUT_DOWN, FULL, INTERRUPTED, DUPLICATE }

  /** What {@link #stop} did: ended a pending task, cut a running attempt, or nothing. */
  record Stopped(boolean accepted, boolean ended, @Nullable Attempt toCut) {
    static final Stopped NOTHING = new Stopped(false, false, null);
  }

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition workAvailable = lock.newCondition();
  private final Condition roomAvailable = lock.newCondition();
  private final Condition progress = lock.newCondition();

  private final String name;
  private final String instance;
  private final int concurrency;
  private final int capacity;
  private final Timers timers;
  /** What a task's deadline timer runs (on the scheduler thread). */
  private final Consumer<TaskCore<?>> deadlinePassed;

  // ---- guarded by lock ----
  private final TaskStore store;
  private final RunningList running = new RunningList();
  /** The tasks read back from a report that are pending or running, by id: one copy of each. */
  private final Map<String, TaskCore<?>> liveIds = new HashMap<>();
  private final List<TaskSnapshot> shutdownCancelled = new ArrayList<>();
  /** Written under the lock; volatile so that a single read needs none. */
  private volatile Accepting accepting = Accepting.OPEN;
  private volatile Owner owner = Owner.NEW;
  private final Counts counts = new Counts();
  /** The durable store's side of a durable queue, or null; set once, before the queue starts. */
  private @Nullable DurableSource durable;

  QueueState(
      String name,
      String instance,
      int concurrency,
      int capacity,
      Timers timers,
      boolean timing,
      Consumer<TaskCore<?>> deadlinePassed) {
    this.name = name;
    this.instance = instance;
    this.concurrency = concurrency;
    this.capacity = capacity;
    this.timers = timers;
    this.deadlinePassed = deadlinePassed;
    this.store = new MemoryStore(lock, workAvailable, timers, timing);
  }

  int capacity() {
    return capacity;
  }

  /** Makes this queue durable: its tasks are claimed from a store, and their outcomes go back. */
  void durable(DurableSource source) {
    lock.lock();
    try {
      durable = source;
    } finally {
      lock.unlock();
    }
  }

  // ---- a durable queue ----------------------------------------------------------------------

  int concurrency() {
    return concurrency;
  }

  /** Takes the lock; the tasks ready to run, waiting for a permit. */
  int readyCount() {
    lock.lock();
    try {
      return store.readyCount();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the lock; how many tasks a durable queue may claim now: its free permits, less the tasks
   * it claimed that wait for one. None once it no longer accepts: a draining queue drains what it
   * runs, and what waits in the store stays there for whoever runs next.
   */
  int claimable() {
    lock.lock();
    try {
      return accepting == Accepting.OPEN ? concurrency - running.size() - store.readyCount() : 0;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the lock; files tasks claimed from the durable store as ready, with their deadline timers
   * ({@code deadlineNanos[i]} from now, negative for none).
   *
   * @return false, filing nothing, if the queue no longer accepts: the caller releases them
   */
  boolean admitClaimed(QueueEngine engine, List<TaskCore<?>> claimed, long[] deadlineNanos) {
    lock.lock();
    try {
      if (accepting != Accepting.OPEN) {
        return false;
      }
      for (int i = 0; i < claimed.size(); i++) {
        TaskCore<?> t = claimed.get(i);
        t.queue = engine;
        t.number = counts.get(Count.SUBMITTED) + 1;
        if (!t.freeze(TaskState.READY)) {
          throw new AssertionError("a claimed task was touched before it was filed");
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
   * Takes the lock; the worker lost its lease: every claimed task it holds is dropped, with nothing
   * written and nothing published (the store gives them to another worker). Pending ones leave at
   * once; running attempts are cut, and {@code endAttempt} drops them.
   *
   * @return the attempts to interrupt
   */
  List<Attempt> loseLease() {
    lock.lock();
    try {
      List<Attempt> toCut = new ArrayList<>();
      store.removeAll(
          t -> {
            t.leaseLost = true;
            dropDurable(t);
          });
      for (TaskCore<?> t = running.head; t != null; t = t.nextRunning) {
        t.leaseLost = true;
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

  /**
   * Under the lock: a claimed task leaves this process without an end here (lease lost, released, or
   * retried in the store): it is no longer pending, and its deadline timer is disarmed.
   */
  private void dropDurable(TaskCore<?> t) {
    assert lock.isHeldByCurrentThread();
    t.current = null;
    Future<?> deadlineTimer = t.deadlineTimer;
    if (deadlineTimer != null) {
      deadlineTimer.cancel(false);
      t.deadlineTimer = null;
    }
    t.state(t.nextAttemptAt != null ? TaskState.WAITING : TaskState.READY);
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
      while (true) {
        if (accepting != Accepting.OPEN) {
          counts.add(Count.REJECTED);
          return Refusal.SHUT_DOWN;
        }
        if (delayNanos > 0 || store.readyCount() < capacity) {
          break;
        }
        if (nanos == 0) {
          if (countFull) {
            counts.add(Count.REJECTED);
          }
          return Refusal.FULL;
        }
        try {
          if (nanos < 0) {
            roomAvailable.await();
          } else {
            nanos = Math.max(roomAvailable.awaitNanos(nanos), 0); // at 0: one more look, then FULL
          }
        } catch (InterruptedException e) {
          return Refusal.INTERRUPTED; // the producer gave up waiting: not refused work, not counted
        }
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

  /** Takes the lock and claims ownership: the queue runs once. */
  void claimOwner() {
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
        while (n < attempts.length && running.size() < concurrency && (t = store.claim()) != null) {
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
      DurableSource d = durable;
      if (d != null) {
        return endDurable(d, t, v, fate);
      }
      if (t.cancelRequested || (fate == Fate.RETRY && accepting == Accepting.STOP)) {
        fate = Fate.CANCELLED; // a cancel that was accepted wins; a stopping queue retries nothing
      }
      switch (fate) {
        case SUCCEEDED -> t.result = result;
        case RETRY -> {
          counts.add(Count.RETRIES);
          t.nextAttemptAt = v.retryDelayNanos() > 0 ? v.retryAt() : null;
          store.retry(t, v.retryDelayNanos());
        }
        default -> {
          if (t.cutByShutdown && fate == Fate.CANCELLED) {
            shutdownCancelled.add(snapshot(t, TaskState.RUNNING));
          }
        }
      }
      if (fate != Fate.RETRY) {
        end(t, fate);
      }
      // A freed permit matters to the dispatcher only if work waits for it (a new task signals by
      // itself) or if it must notice the end of a shutdown; otherwise let it sleep.
      if (store.readyCount() > 0 || accepting != Accepting.OPEN) {
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
   * Under the lock: the end of an attempt of a durable queue. Its outcome goes to the store (written
   * by the next flush, fenced there): an end, or a retry the store schedules by its own clock, after
   * which the task is no longer this process's. A stopping queue writes its retries too: they wait
   * in the store for whoever runs next. An attempt cut by a cutting shutdown did not fail: it is
   * released, its attempt given back. One whose worker lost its lease writes and publishes nothing.
   */
  private Fate endDurable(DurableSource d, TaskCore<?> t, Verdict v, Fate verdict) {
    assert lock.isHeldByCurrentThread();
    Fate fate = verdict;
    if (t.leaseLost) {
      fate = Fate.RELEASED;
    } else if (t.cancelRequested) {
      fate = Fate.CANCELLED;
    } else if (t.cutByShutdown && fate == Fate.CANCELLED) {
      fate = Fate.RELEASED;
      d.release(t);
    }
    switch (fate) {
      case RELEASED -> {
        t.nextAttemptAt = null;
        dropDurable(t);
      }
      case RETRY -> {
        counts.add(Count.RETRIES);
        t.nextAttemptAt = v.retryDelayNanos() > 0 ? v.retryAt() : null;
        dropDurable(t); // the state first: the flusher may publish as soon as the outcome is filed
        d.outcome(t, fate, v.retryDelayNanos(), v.retryAt());
      }
      default -> {
        if (fate == Fate.SUCCEEDED) {
          t.result = null; // nobody here awaits a durable task
        }
        end(t, fate); // the state first: the flusher may publish as soon as the outcome is filed
        d.outcome(t, fate, 0, null);
      }
    }
    d.permitFreed(concurrency - running.size() - store.readyCount(), store.readyCount());
    if (store.readyCount() > 0 || accepting != Accepting.OPEN) {
      workAvailable.signal();
    }
    if (accepting != Accepting.OPEN) {
      progress.signalAll();
    }
    return fate;
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
          DurableSource d = durable;
          if (d != null) { // after the end: the flusher may publish as soon as the outcome is filed
            d.outcome(t, fate, 0, null);
            d.permitFreed(concurrency - running.size() - store.readyCount(), store.readyCount());
          }
          if (lock.hasWaiters(roomAvailable)) {
            roomAvailable.signalAll();
          }
          workAvailable.signal(); // the dispatcher may be waiting for the last task to go
          if (accepting != Accepting.OPEN) {
            progress.signalAll();
          }
          return new Stopped(true, true, null);
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
      DurableSource d = durable;
      store.removeAll(
          t -> {
            if (d != null) {
              d.release(t); // claimed, not started: back to the store, its attempt given back
              dropDurable(t);
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
      return signalAllAndClaimOwner();
    } finally {
      lock.unlock();
    }
  }

  /** Under the lock: moves a task into a terminal state and counts it. */
  private void end(TaskCore<?> t, Fate fate) {
    assert lock.isHeldByCurrentThread();
    t.current = null;
    t.nextAttemptAt = null;
    String fixedId = t.fixedId();
    if (fixedId != null) {
      liveIds.remove(fixedId, t);
    }
    Future<?> deadlineTimer = t.deadlineTimer;
    if (deadlineTimer != null) {
      deadlineTimer.cancel(false);
      t.deadlineTimer = null;
    }
    TaskState end =
        switch (fate) {
          case SUCCEEDED -> TaskState.SUCCEEDED;
          case FAILED -> TaskState.FAILED;
          case CANCELLED -> TaskState.CANCELLED;
          case RETRY, RELEASED -> throw new AssertionError(fate);
        };
    t.state(end);
    counts.ended(end);
  }

  private int outstanding() {
    assert lock.isHeldByCurrentThread();
    return store.readyCount() + store.waitingCount() + running.size();
  }

  private TaskSnapshot snapshot(TaskCore<?> t, TaskState state) {
    return new TaskSnapshot(
        name, t.id(), t.name(), t.handler(), t.payloadJson(), state, t.attempts(), t.error(), t.nextAttemptAt);
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
      startOwner[0] = signalAllAndClaimOwner();
      return first ? statsLocked() : null;
    } finally {
      lock.unlock();
    }
  }

  /** Under the lock: wakes every waiter; claims the owner if nobody started the queue. */
  private boolean signalAllAndClaimOwner() {
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

  /**
   * Takes the lock; waits until the owner terminates, for at most {@code nanos}.
   *
   * @return true if it terminated
   */
  boolean awaitTerminated(long nanos) throws InterruptedException {
    lock.lockInterruptibly();
    try {
      while (owner != Owner.TERMINATED) {
        if (nanos <= 0) {
          return false;
        }
        nanos = progress.awaitNanos(nanos);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the lock; reports a cancelling shutdown: the tasks it cancelled, and those still running
   * (abandoned), read together so that a task ending now is in exactly one list.
   */
  ShutdownReport report(List<TaskCore<?>> abandoned, Duration elapsed) {
    lock.lock();
    try {
      List<TaskSnapshot> stillRunning = new ArrayList<>();
      for (TaskCore<?> t = running.head; t != null; t = t.nextRunning) {
        abandoned.add(t);
        stillRunning.add(snapshot(t, TaskState.RUNNING));
      }
      return new ShutdownReport(
          name,
          instance,
          Instant.now(),
          counts.get(Count.SUCCEEDED),
          counts.get(Count.FAILED),
          shutdownCancelled,
          stillRunning,
          elapsed);
    } finally {
      lock.unlock();
    }
  }

  /** Whether a cancelling shutdown stopped the queue. */
  boolean isStopped() {
    return accepting == Accepting.STOP;
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

  private void advance(Accepting to) {
    assert lock.isHeldByCurrentThread();
    if (accepting.compareTo(to) < 0) {
      accepting = to;
    }
  }

  // ---- reading ------------------------------------------------------------------------------

  QueueStats stats() {
    lock.lock();
    try {
      return statsLocked();
    } finally {
      lock.unlock();
    }
  }

  private QueueStats statsLocked() {
    assert lock.isHeldByCurrentThread();
    return new QueueStats(
        counts.get(Count.SUBMITTED),
        counts.get(Count.REJECTED),
        store.readyCount(),
        running.size(),
        store.waitingCount(),
        counts.get(Count.SUCCEEDED),
        counts.get(Count.FAILED),
        counts.get(Count.CANCELLED));
  }

  /** Takes the lock; one of the counts the metrics publish (read when a registry is scraped). */
  long count(Count count) {
    lock.lock();
    try {
      return switch (count) {
        case READY -> store.readyCount();
        case RUNNING -> running.size();
        case WAITING -> store.waitingCount();
        default -> counts.get(count);
      };
    } finally {
      lock.unlock();
    }
  }

  boolean isShutdown() {
    return accepting != Accepting.OPEN;
  }

  boolean isTerminated() {
    return owner == Owner.TERMINATED;
  }

  /** The queue's lifecycle, from the two run states; a lone read takes no lock. */
  QueueLifecycle lifecycle() {
    if (owner == Owner.TERMINATED) {
      return QueueLifecycle.TERMINATED;
    }
    return switch (accepting) {
      case OPEN -> owner == Owner.NEW ? QueueLifecycle.NEW : QueueLifecycle.ACCEPTING;
      case SHUTDOWN -> QueueLifecycle.DRAINING;
      case STOP -> QueueLifecycle.STOPPED;
    };
  }

  /** Takes the lock; the queue's health: lifecycle, pending counts, the oldest ready task's age. */
  QueueHealth health() {
    lock.lock();
    try {
      return new QueueHealth(
          name,
          lifecycle(),
          store.readyCount(),
          store.waitingCount(),
          running.size(),
          capacity,
          concurrency,
          Duration.ofNanos(store.oldestReadyNanos()));
    } finally {
      lock.unlock();
    }
  }
}
