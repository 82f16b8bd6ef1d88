package dev.loomwork.internal;

import dev.loomwork.internal.Verdict.Fate;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Where a queue's tasks come from and where their ends go: the one seam between the engine (permits,
 * the dispatch loop, runners, the context, the retry verdict, listeners and metrics), which every
 * queue shares, and the store that keeps its tasks. Two implement it: {@link MemoryStore} (the tasks
 * live in this process only) and {@link DurableSource} (they are claimed from a durable store, and
 * their outcomes written back).
 *
 * <p><b>Under the queue's lock.</b> Every method but {@link #publish}, {@link #start} and {@link
 * #close} is called with the queue's lock held ({@link QueueState}), never blocks and never calls
 * user code; it may wake a thread of its own (a semaphore), never wait for one. A task is pending in
 * the store exactly while its state is {@code READY} or {@code WAITING} and it is this process's.
 * When the store's own threads change the books (its timers make tasks ready, a claim files tasks),
 * they take the queue's lock themselves.
 *
 * <p><b>Who publishes an end.</b> The memory store at once ({@link #ended} returns true, and {@link
 * #publish} publishes); the durable store once the end is written ({@link #ended} files it and
 * returns false, and the store's writer publishes what the store applied), as river's inline and
 * batch completers do.
 */
interface TaskStore {

  /** Makes a queue's store, given the queue's lock and the dispatcher's condition. */
  @FunctionalInterface
  interface Factory {
    TaskStore make(ReentrantLock lock, Condition workAvailable);
  }

  // ---- pending tasks ----

  /**
   * Files a task (state {@code READY} or {@code WAITING}).
   *
   * @param dueNanos when its first attempt is due, on {@link #nanoTime()}'s scale
   */
  void add(TaskCore<?> t, long dueNanos);

  /** Takes the next ready task, now {@code RUNNING}'s to make; null if none is ready. */
  @Nullable TaskCore<?> take();

  /** Removes a pending task that is ending (cancelled, or failed at its deadline). */
  void remove(TaskCore<?> t);

  /** Removes every pending task, in order (ready ones first), handing each to {@code ended}. */
  void removeAll(Consumer<TaskCore<?>> ended);

  /** Tasks ready to run. */
  int readyCount();

  /** Tasks waiting for a not-before time or a retry. */
  int waitingCount();

  /** The store's time, in nanoseconds from an origin of its own; never negative, never wraps. */
  long nanoTime();

  /**
   * How long the oldest ready task has been ready, in nanoseconds; 0 if none is ready (or if the
   * store cannot tell). For health checks and a gauge: called seldom, under the queue's lock.
   */
  default long oldestReadyNanos() {
    return 0;
  }

  /**
   * How many tasks ended here with {@code fate} (succeeded, failed or cancelled) whose outcome the
   * store has not yet written, those being written included; 0 for a store in memory, which has
   * nothing to write. The counts of {@code stats()} and of a shutdown's report leave them out until
   * they are written. Under the queue's lock.
   */
  default int unwritten(Fate fate) {
    return 0;
  }

  /**
   * The queue's ready tasks that no live worker claims (their handler is registered nowhere), by
   * handler, as the store last read them; empty for a store in memory, whose tasks all have a
   * handler here. Never blocks.
   */
  default java.util.Map<String, Long> unclaimable() {
    return java.util.Map.of();
  }

  // ---- the end of an attempt, and of a pending task ----

  /**
   * Decides what becomes of a task whose attempt ended with {@code verdict}: the verdict itself, or
   * {@code CANCELLED} (a cancel was accepted), or {@code RELEASED} (the task goes back to the store
   * with no end here).
   *
   * @param stopping whether a cutting shutdown stopped the queue
   */
  Fate judge(TaskCore<?> t, Fate verdict, boolean stopping);

  /**
   * Files a task whose attempt failed and will be retried ({@code v.retryDelayNanos()} from now).
   *
   * @return true if the task stays pending here; false if it was handed back to the store, which
   *     runs the retry (here or in another process)
   */
  boolean retry(TaskCore<?> t, Verdict v);

  /** A task handed back without an end here ({@code RELEASED}): the store takes it back. */
  void released(TaskCore<?> t);

  /**
   * A task ended here ({@code t.state()} is terminal).
   *
   * @return true if its caller publishes it now; false if the store publishes it later (once it has
   *     written the end)
   */
  boolean ended(TaskCore<?> t, Fate fate);

  /**
   * A cutting shutdown stops a pending task.
   *
   * @return true if it was handed back to the store (it leaves with no end); false if it is to be
   *     cancelled here
   */
  boolean handBackOnStop(TaskCore<?> t);

  /**
   * A permit or a ready slot was freed.
   *
   * @param free the free permits less the ready tasks waiting for one
   * @param ready the ready tasks
   */
  default void freed(int free, int ready) {}

  /**
   * Refuses a task enqueued in this process, if the store takes its tasks from elsewhere.
   *
   * @throws UnsupportedOperationException if it does
   */
  default void checkEnqueue(TaskCore<?> t, String queue) {}

  // ---- outside the lock ----

  /**
   * The attempt thread, after {@link QueueState#endAttempt}: publishes the task's retry, its
   * hand-back or its end, unless the store publishes it later (see {@link #ended}).
   */
  void publish(Publisher publisher, TaskCore<?> t, int attempt, Fate fate, Verdict v);

  /** The owner, before the dispatch loop: starts the store's threads, if it has any. */
  default void start() {}

  /** The owner, once every attempt has ended: writes what is left and stops the store's threads. */
  default void close() {}
}
