package dev.loomwork.internal;

import dev.loomwork.RetryPolicy;
import dev.loomwork.internal.DurableBackend.Ending;
import dev.loomwork.internal.DurableBackend.Settings;
import dev.loomwork.internal.Verdict.Fate;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The durable {@link TaskStore}: a queue's tasks are claimed from a durable store, wait here for a
 * permit like any other ready task (in a {@link MemoryStore}'s deque), and their outcomes go back.
 * The engine sees a store; only the ends differ from the memory store's:
 *
 * <ul>
 *   <li><b>In.</b> The {@link Claimer} claims at most as many due tasks as the queue has room for and
 *       files them through {@link QueueState#arrive}.
 *   <li><b>Out.</b> An end, a retry or a release is filed in the {@link DurableBooks} under the
 *       queue's lock; the {@link Flusher} writes them in batches, fenced on this worker and each
 *       attempt, and publishes what the store applied (an outcome fenced out is logged, never
 *       published as the task's). A retry leaves this process: the store schedules it.
 *   <li><b>Around.</b> The {@link LeaseKeeper} renews the lease and cuts attempts whose cancel another
 *       process requested; a lost lease surrenders every task ({@link QueueState#surrenderAll}). The
 *       {@link StoreHousekeeping} rescues lost workers' tasks, prunes and counts. The {@link
 *       WakeListener} holds the LISTEN connection, unless the store polls only.
 * </ul>
 *
 * Every loop is a {@link StoreLoop} (one shape: turn, wait, back off, stop) and shares one {@link
 * Outage}. Everything that touches the store runs on those virtual threads, outside the queue's lock.
 *
 * <p><b>Lock order.</b> One lock: the queue's guards the books, as it guards the memory store. The
 * loops take it for a few reads and list operations, never across I/O. Under it, the books may wake a
 * loop (a semaphore release), never wait for one. The {@link Outage}'s lock is a leaf.
 */
final class DurableSource implements TaskStore {
  private static final Logger log = Log.LOG;

  private final String queue;
  private final DurableBackend backend;
  private final ReentrantLock lock;
  private final MemoryStore ready;
  private final DurableBooks books;
  private final Claimer claimer;
  private final Flusher flusher;
  private final LeaseKeeper keeper;
  private final StoreHousekeeping housekeeping;
  private final @Nullable WakeListener listener;
  private final List<StoreLoop> loops;

  /** A factory of durable stores for {@code engine}: see {@link TaskStore.Factory}. */
  static TaskStore.Factory factory(
      QueueEngine engine,
      DurableBackend backend,
      Handlers handlers,
      RetryPolicy queueDefault,
      int concurrency,
      StoreMeters meters,
      Timers timers,
      boolean timing) {
    if (handlers.names().isEmpty()) {
      throw new IllegalArgumentException(
          "queue '" + engine.name() + "': a durable queue runs typed tasks only, and has no handler"
              + " (register one with WorkQueue.Builder.handle)");
    }
    return (lock, workAvailable) ->
        new DurableSource(
            engine, backend, handlers, queueDefault, concurrency, meters, lock, workAvailable, timers, timing);
  }

  private DurableSource(
      QueueEngine engine,
      DurableBackend backend,
      Handlers handlers,
      RetryPolicy queueDefault,
      int concurrency,
      StoreMeters meters,
      ReentrantLock lock,
      Condition workAvailable,
      Timers timers,
      boolean timing) {
    this.queue = engine.name();
    this.backend = backend;
    this.lock = lock;
    this.ready = new MemoryStore(lock, workAvailable, timers, timing);
    this.books = new DurableBooks(lock);
    Settings settings = backend.settings();
    Outage outage = new Outage(queue);
    this.claimer =
        new Claimer(engine, backend, books, lock, new RestoredTasks(engine, handlers, queueDefault), concurrency, outage, meters);
    this.flusher = new Flusher(engine, backend, books, lock, claimer, outage, meters);
    this.keeper = new LeaseKeeper(engine, backend, books, lock, claimer, outage, meters);
    claimer.keeper(keeper);
    this.housekeeping = new StoreHousekeeping(queue, backend, claimer, outage, meters);
    this.listener = settings.pollOnly() ? null : new WakeListener(queue, backend, claimer, outage, meters);
    this.loops =
        listener == null
            ? List.of(claimer, flusher, keeper, housekeeping)
            : List.of(claimer, flusher, keeper, housekeeping, listener);
  }

  // ---- the lifecycle, on the owner's thread ----

  @Override
  public void start() {
    for (StoreLoop l : loops) {
      l.start(queue);
    }
  }

  /**
   * Stops the loops, writes the last outcomes and releases, and deletes the worker's row, so that
   * another process takes what this one released at once. A task still running here (abandoned) is
   * the rescuer's.
   */
  @Override
  public void close() {
    for (StoreLoop l : loops) {
      l.stop();
    }
    for (StoreLoop l : loops) {
      l.join();
    }
    flusher.last(); // the flusher's last turn may have failed: one more try
    long w;
    lock.lock();
    try {
      w = books.retire();
    } finally {
      lock.unlock();
    }
    if (w != 0) {
      try {
        backend.deregister(w);
      } catch (Exception e) {
        log.warn("queue '{}': could not delete worker {}; its lease expires by itself ({})",
            queue, w, Outage.cause(e));
      }
    }
  }

  // ---- pending tasks: the claimed ones, in a deque ----

  @Override
  public void add(TaskCore<?> t, long dueNanos) {
    ready.add(t, dueNanos);
  }

  @Override
  public @Nullable TaskCore<?> take() {
    return ready.take();
  }

  @Override
  public void remove(TaskCore<?> t) {
    ready.remove(t);
  }

  @Override
  public void removeAll(Consumer<TaskCore<?>> ended) {
    ready.removeAll(ended);
  }

  @Override
  public int readyCount() {
    return ready.readyCount();
  }

  @Override
  public int waitingCount() {
    return ready.waitingCount();
  }

  @Override
  public long nanoTime() {
    return ready.nanoTime();
  }

  @Override
  public long oldestReadyNanos() {
    return ready.oldestReadyNanos();
  }

  // ---- ends, under the queue's lock ----

  /**
   * A surrendered task (its lease was lost) is released, with nothing written; a cancel that was
   * accepted wins; an attempt cut by a cutting shutdown did not fail: it is released, its attempt
   * given back. A stopping queue writes its retries: they wait in the store for whoever runs next.
   */
  @Override
  public Fate judge(TaskCore<?> t, Fate verdict, boolean stopping) {
    if (t.surrendered) {
      return Fate.RELEASED;
    }
    if (t.cancelRequested) {
      return Fate.CANCELLED;
    }
    return t.cutByShutdown && verdict == Fate.CANCELLED ? Fate.RELEASED : verdict;
  }

  @Override
  public boolean retry(TaskCore<?> t, Verdict v) {
    books.outcome(t, Fate.RETRY, v.retryDelayNanos(), v.retryAt());
    filed();
    return false; // the store runs the retry, here or elsewhere
  }

  @Override
  public void released(TaskCore<?> t) {
    if (!t.surrendered) { // a surrendered task's row is another worker's now
      books.release(t);
      flusher.wake();
    }
  }

  @Override
  public boolean ended(TaskCore<?> t, Fate fate) {
    if (fate == Fate.SUCCEEDED) {
      t.result = null; // nobody here awaits a durable task
    }
    books.outcome(t, fate, 0, null);
    filed();
    return false; // the flusher publishes it once the store applied it
  }

  @Override
  public boolean handBackOnStop(TaskCore<?> t) {
    books.release(t); // claimed, not started: back to the store, its attempt given back
    flusher.wake();
    return true;
  }

  @Override
  public java.util.Map<String, Long> unclaimable() {
    return housekeeping.unclaimable();
  }

  @Override
  public int unwritten(Fate fate) {
    return switch (fate) {
      case SUCCEEDED -> books.unwritten(Ending.SUCCEEDED);
      case FAILED -> books.unwritten(Ending.FAILED);
      case CANCELLED -> books.unwritten(Ending.CANCELLED);
      case RETRY, RELEASED -> 0;
    };
  }

  @Override
  public void freed(int free, int readyTasks) {
    claimer.freed(free - books.unwritten(), readyTasks);
  }

  /** A full batch goes at once; so do enough outcomes to be worth a claim while the store has a backlog. */
  private void filed() {
    int n = books.filed();
    if (n == Flusher.BATCH || (n == claimer.batch && claimer.saturated())) {
      flusher.wake();
    }
  }

  @Override
  public void checkEnqueue(TaskCore<?> t, String queueName) {
    throw new UnsupportedOperationException(
        "queue '" + queueName + "' is durable: its tasks may run in another process, so nothing here"
            + " can await task '" + t.name() + "'. Enqueue a typed task with its store:"
            + " store.enqueue(\"" + queueName + "\", Task.of(type, payload)), which returns the task's id");
  }

  // ---- outside the lock ----

  /** Only a hand-back is published at once: an end or a retry once the flusher wrote it. */
  @Override
  public void publish(Publisher publisher, TaskCore<?> t, int attempt, Fate fate, Verdict v) {
    if (fate == Fate.RELEASED) {
      publisher.released(t, attempt);
    }
  }
}
