package dev.loomwork.internal;

import dev.loomwork.AttemptScope;
import dev.loomwork.DeadlineExceededException;
import dev.loomwork.QueueHealth;
import dev.loomwork.QueueStats;
import dev.loomwork.RetryPolicy;
import dev.loomwork.ShutdownReport;
import dev.loomwork.internal.QueueState.Stopped;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The engine of one {@code WorkQueue}: its wiring, and the producer's side (admission). The parts,
 * each with one job:
 *
 * <ul>
 *   <li>{@link QueueState}: the only lock and everything it guards; every transition of a task.
 *   <li>{@link TaskStore}: where tasks come from, wait, and their ends go: {@link MemoryStore}, or a
 *       durable store ({@link DurableSource}, which publishes an end once it has written it).
 *   <li>{@link Dispatcher}: the owner thread, its scope, the dispatch loop.
 *   <li>{@link Attempt}: one attempt, top to bottom, on its own thread, and the cut race.
 *   <li>{@link Verdict}: the retry rules, as a function.
 *   <li>{@link Timers}: the one scheduler thread, which never runs user code.
 *   <li>{@link Publisher}: events, metrics, logs, after-callbacks and futures, outside the lock.
 *   <li>{@link Shutdown}: the three shutdowns and their report.
 * </ul>
 *
 * The repository's {@code docs/ARCHITECTURE.md} draws the threads and the task's transitions.
 */
public final class QueueEngine {
  private static final Logger log = Log.LOG;

  private final String name;
  /** This queue instance's id, unique to it: the first part of its tasks' ids. */
  private final String instance = UUID.randomUUID().toString();
  private final Handlers handlers;
  private final RetryPolicy defaultPolicy;
  final InstantSource clock;
  final RandomGenerator random;
  final ThreadFactory threadFactory;
  final Runner runner;
  /** Whether each attempt opens a scope of its own ({@code AttemptScope.NESTED}). */
  final boolean nestedScopes;
  final Timers timers;
  final Publisher publisher;
  final QueueState state;
  final Dispatcher dispatcher;
  /** Where the queue's tasks come from and their ends go: {@link MemoryStore} or a durable store. */
  final TaskStore store;
  private final Shutdown shutdown;
  /** The attempts' observations, or null: then no Micrometer class is loaded for them. */
  final @Nullable Tracing tracing;
  /** Whether a task of this process's memory carries its submitter's MDC to its attempts. */
  private final boolean carryMdc;

  /**
   * Creates the engine and registers its meters, if it has a registry; nothing runs until {@link
   * #start()} or {@link #run()}.
   *
   * @param config validated settings
   * @return the engine
   * @throws IllegalArgumentException if two handlers share a name
   */
  public static QueueEngine create(QueueConfig config) {
    Handlers handlers = Handlers.of(config.name(), config.handlers()); // before anything registers
    QueueMetrics metrics = null;
    MeterRegistry registry = config.meterRegistry();
    if (registry != null) {
      try {
        metrics = new QueueMetrics(registry, config, handlers.names());
      } catch (RuntimeException e) {
        log.warn("queue '{}': could not register its meters; it runs without metrics", config.name(), e);
      }
    }
    StoreMeters storeMeters = StoreMeters.NONE;
    if (registry != null && config.store() != null) {
      try {
        storeMeters = new StoreMetrics(registry, config.name());
      } catch (RuntimeException e) {
        log.warn("queue '{}': could not register its store meters", config.name(), e);
      }
    }
    QueueEngine engine = new QueueEngine(config, handlers, metrics, storeMeters);
    if (metrics != null) {
      try {
        metrics.bind(engine.state);
      } catch (RuntimeException e) {
        log.warn("queue '{}': could not register its counters and gauges", config.name(), e);
      }
    }
    return engine;
  }

  private QueueEngine(
      QueueConfig config, Handlers handlers, @Nullable QueueMetrics metrics, StoreMeters storeMeters) {
    this.name = config.name();
    this.handlers = handlers;
    this.defaultPolicy = config.retryPolicy();
    this.clock = config.clock();
    this.random = config.random();
    this.threadFactory = config.threadFactory();
    this.runner = Runners.selected();
    this.nestedScopes = config.attemptScope() == AttemptScope.NESTED;
    this.timers = new Timers(name);
    this.publisher = new Publisher(name, new SafeListener(name, config.listeners()), metrics);
    DurableBackend backend = config.store();
    TaskStore.Factory stores =
        backend == null
            ? (lock, workAvailable) -> new MemoryStore(lock, workAvailable, timers, publisher.timing)
            : DurableSource.factory(
                this, backend, handlers, config.retryPolicy(), config.concurrency(), storeMeters, timers,
                publisher.timing);
    this.state =
        new QueueState(
            name, instance, config.concurrency(), config.capacity(), timers, stores, this::deadlinePassed);
    this.store = state.store();
    this.dispatcher = new Dispatcher(this);
    this.shutdown = new Shutdown(this, config.abandonAfter(), config.progressInterval());
    Object observations = config.observationRegistry();
    this.tracing = observations == null ? null : new Tracing(observations, name);
    this.carryMdc = config.carryMdc();
  }

  public String name() {
    return name;
  }

  /** This queue instance's id, which its reports carry and its tasks' ids start with. */
  public String instance() {
    return instance;
  }

  /** Whether this queue has a handler registered under {@code name}. */
  public boolean handles(String handler) {
    return handlers.has(handler);
  }

  // ---- accepting work -----------------------------------------------------------------------

  /** Waits for room as long as it takes; an interrupt while waiting rejects the task. */
  public void enqueue(TaskCore<?> task) {
    enqueueUnique(task); // a task that is not read back from a report is never a duplicate
  }

  /** Accepts the task if there is room now. */
  public boolean offer(TaskCore<?> task) {
    return accept(task, 0, true) == null;
  }

  /**
   * Accepts the task if there is room now, as {@link #offer(TaskCore)} does, but a full queue is no
   * rejection (neither counted nor published): the caller waits for room by other means (the Kotlin
   * API's suspending enqueue takes this fast path before it suspends).
   *
   * @return true if accepted, false if the ready queue is full
   * @throws RejectedExecutionException if the queue is shut down
   */
  public boolean enqueueIfRoom(TaskCore<?> task) {
    return accept(task, 0, false) == null;
  }

  /** Accepts the task if there is room within {@code timeout}. */
  public boolean offer(TaskCore<?> task, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    Refusal refusal = accept(task, Math.max(0, Timers.nanos(timeout)), true);
    if (refusal == Refusal.INTERRUPTED) {
      throw new InterruptedException(
          "queue '" + name + "': interrupted while waiting for room for task '" + task.name() + "'");
    }
    return refusal == null;
  }

  /**
   * Accepts a task. {@code waitNanos}: negative waits for room as long as it takes, zero does not
   * wait, positive waits at most that long; {@code countFull} false makes a {@code FULL} refusal no
   * rejection. Returns null if accepted, else why not; a queue that is
   * shut down throws. Everything that may call user code (the clock) or allocate (the policy's
   * copies) runs before the queue's lock is taken, so a clock that throws reaches the caller with
   * nothing accepted.
   */
  private @Nullable Refusal accept(TaskCore<?> t, long waitNanos, boolean countFull) {
    Objects.requireNonNull(t, "task");
    store.checkEnqueue(t, name);
    Typed typed = t.typed;
    if (typed != null) {
      t.checkEnqueueable();
      typed.encode(t.name());
      handlers.bind(t, name);
    }
    Tracing tr = tracing;
    if (tr != null) {
      t.trace = tr.capture(); // the submitter's observation: the parent of the task's attempts
    }
    if (carryMdc) {
      t.mdc = org.slf4j.MDC.getCopyOfContextMap();
    }
    Instant now = t.needsClock() ? clock.instant() : null;
    t.resolve(defaultPolicy, now);
    Instant due = null;
    long delayNanos = 0;
    long deadlineNanos = -1;
    if (now != null) {
      due = t.firstDue(now);
      if (due != null) {
        delayNanos = Math.max(1, Timers.nanos(Duration.between(now, due)));
      }
      Instant deadline = t.deadline();
      if (deadline != null) {
        deadlineNanos = Math.max(0, Timers.nanos(Duration.between(now, deadline)));
      }
    }
    Refusal refusal;
    publisher.hold(t); // Enqueued before any event of another thread (see Publisher.hold)
    try {
      refusal = state.admit(this, t, due, delayNanos, deadlineNanos, waitNanos, countFull);
      if (refusal == null) {
        publisher.enqueued(t);
        return null;
      }
    } finally {
      publisher.dropHold(t);
    }
    if (refusal == Refusal.DUPLICATE) {
      publisher.refused(refusal);
      return refusal; // not a rejection: the same task is already here
    }
    if (refusal == Refusal.INTERRUPTED || (refusal == Refusal.FULL && !countFull)) {
      return refusal; // not a rejection: the producer gave up waiting, or waits elsewhere
    }
    String reason =
        switch (refusal) {
          case SHUT_DOWN, TERMINATED -> "queue '" + name + "' is shut down";
          case FULL -> "queue '" + name + "' is full (" + state.capacity() + " ready tasks)";
          case INTERRUPTED -> "interrupted while waiting for room in queue '" + name + "'";
          case DUPLICATE -> throw new AssertionError(refusal);
        };
    publisher.refused(refusal);
    if (refusal != Refusal.TERMINATED) {
      publisher.rejected(t, reason); // gives up the part admit took
    }
    if (refusal == Refusal.SHUT_DOWN || refusal == Refusal.TERMINATED) {
      throw new RejectedExecutionException(reason + ": task '" + t.name() + "' rejected");
    }
    return refusal;
  }

  /**
   * Enqueues a task, waiting for room; an interrupt while waiting rejects it. A task read back from a
   * report is not enqueued if a task with its id is pending or running here.
   *
   * @return false if it was such a duplicate
   */
  public boolean enqueueUnique(TaskCore<?> task) {
    Refusal refusal = accept(task, -1, true);
    if (refusal == Refusal.INTERRUPTED) {
      Thread.currentThread().interrupt();
      throw new RejectedExecutionException(
          "queue '" + name + "': interrupted while waiting for room for task '" + task.name() + "'",
          new InterruptedException());
    }
    return refusal == null;
  }

  // ---- running, cancelling, shutting down ---------------------------------------------------

  /** Becomes the owner and runs the owner loop on a new thread. */
  public void start() {
    dispatcher.start();
  }

  /** Becomes the owner and runs the owner loop on the calling thread until the queue terminates. */
  public void run() {
    dispatcher.run();
  }

  /**
   * Becomes the owner now, as {@link #run()} does first, and returns the owner loop, which the caller
   * runs (once) on the thread of its choice: so that a shutdown called in between finds the queue
   * owned, and does not start it on its own thread. Interrupting the loop's thread cancels all work,
   * as interrupting {@code run()} does.
   *
   * @return the owner loop: runs until the queue terminates
   * @throws IllegalStateException if the queue was already started or run
   */
  public Runnable becomeOwner() {
    return dispatcher.becomeOwner();
  }

  /**
   * Cancels one task; see {@code Task.cancel()}.
   *
   * @return true if the task was pending and is now cancelled, or was running and will end cancelled
   */
  boolean cancel(TaskCore<?> t) {
    boolean delivering = publisher.enter(); // onTerminated after what this cancel publishes
    try {
      Stopped s = state.stop(t, Cut.CANCEL, null);
      act(t, s, false);
      return s.accepted();
    } finally {
      if (delivering) {
        publisher.exit();
      }
    }
  }

  /** The scheduler thread: a task's deadline passed. A pending task is published elsewhere. */
  private void deadlinePassed(TaskCore<?> t) {
    Throwable error =
        new DeadlineExceededException(t.name(), Objects.requireNonNull(t.deadline()), t.error());
    act(t, state.stop(t, Cut.DEADLINE, error), true);
  }

  /**
   * Outside the lock, after {@link QueueState#stop}: interrupts the attempt it cut, or publishes the
   * pending task it ended, here or ({@code later}, on the scheduler thread) on a virtual thread.
   */
  private void act(TaskCore<?> t, Stopped s, boolean later) {
    Attempt a = s.toCut();
    if (a != null) {
      a.interrupt();
    }
    if (s.ended()) { // ended, and ours to publish (a store may publish it once it has written it)
      if (later) {
        publisher.publishLater(t);
      } else {
        publisher.publish(t);
      }
    }
  }

  void cancelAll() {
    shutdown.cancelAll();
  }

  // Each shutdown takes a part in delivering events (see Publisher.enter): onTerminated comes after
  // the cancellations and abandonments it publishes on its caller's thread. One that finds the queue
  // terminated returns once onTerminated was delivered (see Publisher.awaitOwnerOut).

  public void shutdown() {
    boolean delivering = publisher.enter();
    try {
      shutdown.drain();
    } finally {
      leave(delivering);
    }
  }

  public ShutdownReport shutdown(Duration timeout) {
    boolean delivering = publisher.enter();
    try {
      return shutdown.drain(timeout);
    } finally {
      leave(delivering);
    }
  }

  public ShutdownReport shutdownNow() {
    boolean delivering = publisher.enter();
    try {
      return shutdown.stopNow();
    } finally {
      leave(delivering);
    }
  }

  /** The end of a shutdown's part in delivering events. */
  private void leave(boolean delivering) {
    if (!delivering) {
      return; // onTerminated was delivered already, or is being, perhaps by this very thread
    }
    if (state.isTerminated()) {
      publisher.awaitOwnerOut();
    }
    publisher.exit();
  }

  // ---- reading ------------------------------------------------------------------------------

  public QueueStats stats() {
    return state.stats();
  }

  public boolean isShutdown() {
    return state.isShutdown();
  }

  public boolean isTerminated() {
    return state.isTerminated();
  }

  public QueueHealth health() {
    return state.health();
  }

  /** Up to {@code limit} tasks not yet ended, running ones first (see {@link QueueBooks#liveTasks}). */
  public List<LiveTask> liveTasks(int limit) {
    return state.liveTasks(limit);
  }

  @Override
  public String toString() {
    QueueStats s = stats();
    return "WorkQueue[name="
        + name
        + ", runner="
        + runner.name()
        + (nestedScopes ? ", attemptScope=nested" : "")
        + ", ready="
        + s.ready()
        + ", running="
        + s.running()
        + ", waiting="
        + s.waiting()
        + ", succeeded="
        + s.succeeded()
        + ", failed="
        + s.failed()
        + ", cancelled="
        + s.cancelled()
        + "]";
  }
}
