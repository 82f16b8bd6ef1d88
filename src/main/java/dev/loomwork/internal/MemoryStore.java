package dev.loomwork.internal;

import dev.loomwork.TaskState;
import dev.loomwork.internal.Verdict.Fate;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.Future;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The in-memory {@link TaskStore}: a deque of ready tasks and a heap of waiting ones, with one alarm.
 * Guarded by the queue's lock; every method asserts it.
 *
 * <p><b>Ready.</b> A FIFO deque. A task that leaves it early (cancelled, or failed at its deadline,
 * while {@code READY}) is not searched for: its state changes, {@code readyCount} drops at once, and
 * {@link #take()} skips the stale entry when it comes up. So removing is O(1), and {@code
 * readyCount} counts the live entries only.
 *
 * <p><b>Waiting.</b> A binary min-heap on {@code dueNanos}, intrusive (each task keeps its index), so
 * that adding, taking the earliest and removing any task are O(log n) and allocate nothing. One
 * alarm on the scheduler thread is armed for the earliest due time. When it rings, every due task
 * moves to the deque in one hold of the lock and the alarm is armed again for the next one: a
 * thousand retries due together cost one timer and one lock hold, not a thousand of each.
 *
 * <p>Times are nanoseconds since the store was made ({@link #nanoTime()}), so they are never negative
 * and a saturated "never" ({@link Long#MAX_VALUE}) compares correctly.
 */
final class MemoryStore implements TaskStore {
  private final ReentrantLock lock;
  private final Condition workAvailable;
  private final Timers timers;
  private final Runnable wake = this::wake;
  private final boolean timing;
  /**
   * Whether tasks are stamped as they become ready: with {@code timing}, or once health has read the
   * oldest ready task's age ({@link #oldestReadyNanos}); so a queue nobody asks reads no clock here.
   */
  private boolean stamping;
  private final long origin = System.nanoTime();

  private final ArrayDeque<TaskCore<?>> ready = new ArrayDeque<>();
  private int readyCount;
  private TaskCore<?>[] heap = new TaskCore<?>[16];
  private int waitingCount;
  private @Nullable Future<?> alarm;
  /** When the pending alarm rings; {@link Long#MAX_VALUE} if none is pending. */
  private long alarmDue = Long.MAX_VALUE;

  /**
   * @param lock the queue's lock, which guards this store
   * @param workAvailable the dispatcher's condition, signalled when the alarm makes tasks ready
   * @param timers the queue's clock, for the alarm
   * @param timing whether to stamp tasks with the moment they became ready (for wait times)
   */
  MemoryStore(ReentrantLock lock, Condition workAvailable, Timers timers, boolean timing) {
    this.lock = lock;
    this.workAvailable = workAvailable;
    this.timers = timers;
    this.timing = timing;
    this.stamping = timing;
  }

  @Override
  public long nanoTime() {
    return System.nanoTime() - origin;
  }

  @Override
  public void add(TaskCore<?> t, long dueNanos) {
    assert lock.isHeldByCurrentThread();
    if (t.state() == TaskState.READY) {
      fileReady(t);
    } else {
      fileWaiting(t, dueNanos);
    }
  }

  @Override
  public @Nullable TaskCore<?> take() {
    assert lock.isHeldByCurrentThread();
    TaskCore<?> t;
    do {
      t = ready.poll();
      if (t == null) {
        return null;
      }
    } while (t.state() != TaskState.READY); // a stale entry: it left early, already counted out
    readyCount--;
    return t;
  }

  /** A task of this process's memory stays here until it ends: a cancel wins, a stop retries nothing. */
  @Override
  public Fate judge(TaskCore<?> t, Fate verdict, boolean stopping) {
    return t.cancelRequested || (verdict == Fate.RETRY && stopping) ? Fate.CANCELLED : verdict;
  }

  @Override
  public boolean retry(TaskCore<?> t, Verdict v) {
    retryAfter(t, v.retryDelayNanos());
    return true;
  }

  @Override
  public void released(TaskCore<?> t) {
    throw new AssertionError("a task of this process's memory has no store to go back to");
  }

  @Override
  public boolean ended(TaskCore<?> t, Fate fate) {
    return true; // published at once, by the caller
  }

  @Override
  public boolean handBackOnStop(TaskCore<?> t) {
    return false;
  }

  @Override
  public void publish(Publisher publisher, TaskCore<?> t, int attempt, Fate fate, Verdict v) {
    publisher.attemptOver(t, attempt, fate, v);
  }

  /** Files a task for its retry, {@code delayNanos} from now (ready at once if not positive). */
  void retryAfter(TaskCore<?> t, long delayNanos) {
    assert lock.isHeldByCurrentThread();
    if (delayNanos <= 0) {
      t.state(TaskState.READY);
      fileReady(t);
    } else {
      t.state(TaskState.WAITING);
      fileWaiting(t, Timers.plus(nanoTime(), delayNanos));
    }
  }

  @Override
  public void remove(TaskCore<?> t) {
    assert lock.isHeldByCurrentThread();
    if (t.state() == TaskState.READY) {
      readyCount--; // its deque entry goes stale; take() skips it
    } else {
      removeAt(t.heapIndex);
    }
  }

  @Override
  public void forEachPending(Consumer<TaskCore<?>> visit) {
    assert lock.isHeldByCurrentThread();
    for (TaskCore<?> t : ready) {
      if (t.state() == TaskState.READY) { // a stale entry's task left early
        visit.accept(t);
      }
    }
    for (int i = 0; i < waitingCount; i++) {
      visit.accept(heap[i]);
    }
  }

  @Override
  public void removeAll(Consumer<TaskCore<?>> ended) {
    assert lock.isHeldByCurrentThread();
    for (TaskCore<?> t : ready) {
      if (t.state() == TaskState.READY) {
        ended.accept(t);
      }
    }
    ready.clear();
    readyCount = 0;
    for (int i = 0; i < waitingCount; i++) {
      TaskCore<?> t = heap[i];
      t.heapIndex = -1;
      heap[i] = null;
      ended.accept(t);
    }
    waitingCount = 0;
    cancelAlarm();
  }

  /**
   * The deque is in ready order, so its first live entry is the oldest; stale ones go on the way.
   * Without {@code timing}, the first call turns stamping on and stamps the tasks ready now with now:
   * their age counts from that first call.
   */
  @Override
  public long oldestReadyNanos() {
    assert lock.isHeldByCurrentThread();
    long now = System.nanoTime();
    if (!stamping) {
      stamping = true;
      for (TaskCore<?> t : ready) {
        t.readyAtNanos = now; // stale entries too: nothing reads theirs
      }
    }
    TaskCore<?> t;
    while ((t = ready.peek()) != null && t.state() != TaskState.READY) {
      ready.poll(); // a stale entry: it left early, already counted out (as take() skips it)
    }
    return t == null ? 0 : Math.max(0, now - t.readyAtNanos);
  }

  @Override
  public int readyCount() {
    return readyCount;
  }

  @Override
  public int waitingCount() {
    return waitingCount;
  }

  /** The alarm rang (scheduler thread): takes the lock and moves what is due. */
  private void wake() {
    lock.lock();
    try {
      if (moveDue() > 0) {
        workAvailable.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Under the lock: moves every due task to the ready deque (WAITING → READY) and arms the alarm for
   * the next one.
   *
   * @return how many tasks became ready
   */
  private int moveDue() {
    assert lock.isHeldByCurrentThread();
    alarm = null;
    alarmDue = Long.MAX_VALUE;
    long now = nanoTime();
    int moved = 0;
    while (waitingCount > 0 && heap[0].dueNanos <= now) {
      TaskCore<?> t = heap[0];
      removeAt(0);
      t.nextAttemptAt = null;
      t.state(TaskState.READY);
      fileReady(t);
      moved++;
    }
    if (waitingCount > 0) {
      arm(heap[0].dueNanos, now);
    }
    return moved;
  }

  private void fileReady(TaskCore<?> t) {
    if (stamping) {
      t.readyAtNanos = System.nanoTime(); // only listeners, the metrics and health read the wait
    }
    readyCount++;
    ready.add(t);
  }

  private void fileWaiting(TaskCore<?> t, long dueNanos) {
    t.dueNanos = dueNanos;
    if (waitingCount == heap.length) {
      heap = Arrays.copyOf(heap, heap.length * 2);
    }
    siftUp(waitingCount++, t);
    if (dueNanos < alarmDue) {
      arm(dueNanos, nanoTime());
    }
  }

  /**
   * Arms the alarm for {@code due}, replacing a later one. A replaced alarm that rings anyway (its
   * cancel lost the race) finds the heap in order and at worst re-arms: harmless.
   */
  private void arm(long due, long now) {
    cancelAlarm();
    alarmDue = due;
    alarm = timers.schedule(wake, due - now);
  }

  private void cancelAlarm() {
    Future<?> a = alarm;
    if (a != null) {
      a.cancel(false);
      alarm = null;
    }
    alarmDue = Long.MAX_VALUE;
  }

  private void removeAt(int i) {
    TaskCore<?> removed = heap[i];
    removed.heapIndex = -1;
    int last = --waitingCount;
    TaskCore<?> moved = heap[last];
    heap[last] = null;
    if (i != last) {
      siftDown(i, moved);
      if (heap[i] == moved) {
        siftUp(i, moved);
      }
    }
  }

  private void siftUp(int i, TaskCore<?> t) {
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      TaskCore<?> p = heap[parent];
      if (t.dueNanos >= p.dueNanos) {
        break;
      }
      heap[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = t;
    t.heapIndex = i;
  }

  private void siftDown(int i, TaskCore<?> t) {
    int half = waitingCount >>> 1;
    while (i < half) {
      int child = 2 * i + 1;
      TaskCore<?> c = heap[child];
      int right = child + 1;
      if (right < waitingCount && heap[right].dueNanos < c.dueNanos) {
        c = heap[child = right];
      }
      if (t.dueNanos <= c.dueNanos) {
        break;
      }
      heap[i] = c;
      c.heapIndex = i;
      i = child;
    }
    heap[i] = t;
    t.heapIndex = i;
  }
}
