package dev.loomwork.internal;

import dev.loomwork.QueueHealth;
import dev.loomwork.QueueLifecycle;
import dev.loomwork.QueueStats;
import dev.loomwork.ShutdownReport;
import dev.loomwork.TaskSnapshot;
import dev.loomwork.TaskState;
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

/**
 * The books of one queue and its one lock: the fields, the run states, and every read of them
 * (stats, health, the counts the meters read, the shutdown report). {@link QueueState} extends it
 * and makes every change; nothing else writes a field here. Every field is guarded by {@link #lock}
 * (the run states are also volatile, so that a single read needs none); every method takes the lock
 * (and says so) or asserts that its caller holds it.
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
abstract sealed class QueueBooks permits QueueState {
  enum Accepting { OPEN, SHUTDOWN, STOP }

  enum Owner { NEW, RUNNING, TERMINATED }

  final ReentrantLock lock = new ReentrantLock();
  final Condition workAvailable = lock.newCondition();
  final Condition roomAvailable = lock.newCondition();
  final Condition progress = lock.newCondition();

  final String name;
  final String instance;
  final int concurrency;
  final int capacity;
  final Timers timers;
  /** What a task's deadline timer runs (on the scheduler thread). */
  final Consumer<TaskCore<?>> deadlinePassed;

  // ---- guarded by lock ----
  final TaskStore store;
  final RunningList running = new RunningList();
  /** The tasks read back from a report that are pending or running, by id: one copy of each. */
  final Map<String, TaskCore<?>> liveIds = new HashMap<>();
  final List<TaskSnapshot> shutdownCancelled = new ArrayList<>();
  /** Written under the lock; volatile so that a single read needs none. */
  volatile Accepting accepting = Accepting.OPEN;
  volatile Owner owner = Owner.NEW;
  final Counts counts = new Counts();

  QueueBooks(
      String name,
      String instance,
      int concurrency,
      int capacity,
      Timers timers,
      TaskStore.Factory store,
      Consumer<TaskCore<?>> deadlinePassed) {
    this.name = name;
    this.instance = instance;
    this.concurrency = concurrency;
    this.capacity = capacity;
    this.timers = timers;
    this.deadlinePassed = deadlinePassed;
    this.store = store.make(lock, workAvailable);
  }

  int capacity() {
    return capacity;
  }

  /** The queue's store, made once by the constructor. */
  TaskStore store() {
    return store;
  }

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
   * Takes the lock (the store's threads may hold it already); how many tasks the store may bring in
   * now: the free permits, less the ready tasks that wait for one. None once the queue no longer
   * accepts: a draining queue drains what it has, and what waits in the store stays there.
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
   * Under the lock: a task leaves this process with no end here (handed back to its store for a
   * retry or a release, or surrendered): it is no longer pending, its deadline timer is disarmed, and
   * it is counted as handed back.
   */
  final void handBack(TaskCore<?> t) {
    assert lock.isHeldByCurrentThread();
    t.current = null;
    Future<?> deadlineTimer = t.deadlineTimer;
    if (deadlineTimer != null) {
      deadlineTimer.cancel(false);
      t.deadlineTimer = null;
    }
    t.state(t.nextAttemptAt != null ? TaskState.WAITING : TaskState.READY);
    counts.add(Count.HANDED_BACK);
  }

  /** Under the lock: moves a task into a terminal state and counts it. */
  final void end(TaskCore<?> t, Fate fate) {
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

  final int outstanding() {
    assert lock.isHeldByCurrentThread();
    return store.readyCount() + store.waitingCount() + running.size();
  }

  final TaskSnapshot snapshot(TaskCore<?> t, TaskState state) {
    return new TaskSnapshot(
        name, t.id(), t.name(), t.handler(), t.payloadJson(), state, t.attempts(), t.error(), t.nextAttemptAt);
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
      int unwrittenSucceeded = store.unwritten(Fate.SUCCEEDED);
      int unwrittenFailed = store.unwritten(Fate.FAILED);
      return new ShutdownReport(
          name,
          instance,
          Instant.now(),
          counts.get(Count.SUCCEEDED) - unwrittenSucceeded,
          counts.get(Count.FAILED) - unwrittenFailed,
          shutdownCancelled,
          stillRunning,
          elapsed,
          unwrittenSucceeded + unwrittenFailed + store.unwritten(Fate.CANCELLED));
    } finally {
      lock.unlock();
    }
  }

  /** Whether a cancelling shutdown stopped the queue. */
  boolean isStopped() {
    return accepting == Accepting.STOP;
  }

  final void advance(Accepting to) {
    assert lock.isHeldByCurrentThread();
    if (accepting.compareTo(to) < 0) {
      accepting = to;
    }
  }

  QueueStats stats() {
    lock.lock();
    try {
      return statsLocked();
    } finally {
      lock.unlock();
    }
  }

  final QueueStats statsLocked() {
    assert lock.isHeldByCurrentThread();
    // An end the durable store has not written is not an end yet: counted apart until it is.
    int succeeded = store.unwritten(Fate.SUCCEEDED);
    int failed = store.unwritten(Fate.FAILED);
    int cancelled = store.unwritten(Fate.CANCELLED);
    return new QueueStats(
        counts.get(Count.SUBMITTED),
        counts.get(Count.REJECTED),
        store.readyCount(),
        running.size(),
        store.waitingCount(),
        counts.get(Count.SUCCEEDED) - succeeded,
        counts.get(Count.FAILED) - failed,
        counts.get(Count.CANCELLED) - cancelled,
        counts.get(Count.HANDED_BACK),
        succeeded + failed + cancelled);
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
          Duration.ofNanos(store.oldestReadyNanos()),
          store.unclaimable());
    } finally {
      lock.unlock();
    }
  }
}
