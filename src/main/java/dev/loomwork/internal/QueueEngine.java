package dev.loomwork.internal;

import dev.loomwork.AttemptTimeoutException;
import dev.loomwork.DeadlineExceededException;
import dev.loomwork.QueueStats;
import dev.loomwork.RetryPolicy;
import dev.loomwork.ShutdownReport;
import dev.loomwork.Task;
import dev.loomwork.TaskSnapshot;
import dev.loomwork.TaskState;
import dev.loomwork.WorkQueueListener.AttemptOutcome;
import dev.loomwork.internal.Attempt.Cut;
import dev.loomwork.internal.Runner.QueueScope;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine of one {@code WorkQueue}.
 *
 * <h2>Threads</h2>
 *
 * <ul>
 *   <li><b>Producers</b> call {@link #enqueue}/{@link #offer}: a task is checked, frozen and put in
 *       the ready queue, or handed to the scheduler if it has a not-before time.
 *   <li><b>The owner</b>, the thread in {@link #run()}, opens the queue's scope (see {@link Runner})
 *       and runs the dispatch loop: it takes ready tasks while fewer than {@code concurrency} attempts
 *       are in flight, and forks one attempt thread for each. Only the owner may fork.
 *   <li><b>Attempt threads</b> bind the {@code TaskContext}, run the body (through the runner, in a
 *       nested scope), then decide the task's fate: success, failure, or a retry handed to the
 *       scheduler. They run the completion (listeners, after-callback, future) themselves.
 *   <li><b>The scheduler</b>, one thread, is the queue's only clock: it moves tasks from waiting to
 *       ready at their not-before or backoff time, fails tasks at their deadline, and cuts attempts at
 *       their timeout or deadline by interrupting the attempt thread.
 * </ul>
 *
 * <h2>State</h2>
 *
 * One lock guards the queue's state: the ready deque, the counts, the list of running tasks and the
 * set of waiting ones, the accept and owner states, and every task's transitions after acceptance. Decisions are
 * made under it; everything that calls user code (bodies, listeners, callbacks) or interrupts a thread
 * happens after it is released.
 *
 * <p>A task is in exactly one of: the ready deque ({@code READY}, counted by {@code readyCount}), the
 * waiting set ({@code WAITING}, with a scheduler entry), the in-flight list ({@code RUNNING}, holding
 * a permit), or a terminal state. A task cancelled while ready is not searched for in the deque: its
 * state changes and the dispatcher skips it when it comes up, so every cancel is O(1). The number of
 * tasks not yet terminal is therefore {@code readyCount + waiting + running}.
 *
 * <p>The accept state goes {@code OPEN → SHUTDOWN} (no new tasks; drain everything, including retries)
 * {@code → STOP} (cancel what is pending, cut what runs, schedule no retry). The owner state goes
 * {@code NOT_STARTED → STARTED → TERMINATED}; it terminates once the dispatcher has nothing left to do
 * and every attempt thread has ended.
 *
 * <p>The dispatcher sleeps on {@code workAvailable} and is woken only when it can act: a task became
 * ready, a permit was freed while tasks wait for one, or a shutdown changed what "done" means.
 */
public final class QueueEngine {
  private static final Logger log = LoggerFactory.getLogger("dev.loomwork.WorkQueue");

  private static final int OPEN = 0;
  private static final int SHUTDOWN = 1;
  private static final int STOP = 2;

  private static final int NOT_STARTED = 0;
  private static final int STARTED = 1;
  private static final int TERMINATED = 2;

  /** How many ready tasks the dispatcher takes per turn of the lock. */
  private static final int BATCH = 64;

  private final String name;
  private final int concurrency;
  private final int capacity;
  private final RetryPolicy defaultPolicy;
  private final InstantSource clock;
  private final RandomGenerator random;
  private final SafeListener listener;
  private final boolean listening;
  /** The timers of a Micrometer binding, recorded directly (no listener fan-out), or null. */
  private final @Nullable QueueMetrics metrics;
  /** Whether anyone reads wait times: a listener or the metrics. */
  private final boolean timing;
  private final ThreadFactory threadFactory;
  private final long abandonAfterNanos;
  private final long progressNanos;
  private final Runner runner;
  private final ScheduledThreadPoolExecutor scheduler;

  private final ReentrantLock lock = new ReentrantLock();
  /** The dispatcher waits here for a ready task and a free permit, or for a shutdown. */
  private final Condition workAvailable = lock.newCondition();
  /** Producers wait here for room in the ready queue. */
  private final Condition roomAvailable = lock.newCondition();
  /** Shutdowns wait here for progress: signalled on every change once the queue is shutting down. */
  private final Condition settled = lock.newCondition();

  // ---- guarded by lock ----
  private final ArrayDeque<TaskCore<?>> ready = new ArrayDeque<>();
  /** The tasks with an attempt in flight, as an intrusive list through the tasks themselves. */
  private final RunningList inFlight = new RunningList();
  private final Set<TaskCore<?>> waitingSet = new HashSet<>();
  private final List<TaskSnapshot> shutdownCancelled = new ArrayList<>();
  private int readyCount;
  private int running;
  private int waiting;
  private int acceptState = OPEN;
  private int ownerState = NOT_STARTED;
  private long submitted;
  private long rejected;
  private long succeeded;
  private long failed;
  private long cancelled;
  private long attemptsSucceeded;
  private long attemptsFailed;
  private long attemptsTimedOut;
  private long attemptsCancelled;
  private long retriesScheduled;

  /**
   * Creates the engine and registers its meters, if it has a registry; nothing runs until {@link
   * #start()} or {@link #run()}.
   *
   * @param config validated settings
   * @return the engine
   */
  public static QueueEngine create(QueueConfig config) {
    QueueMetrics metrics = null;
    MeterRegistry registry = config.meterRegistry();
    if (registry != null) {
      try {
        metrics = new QueueMetrics(registry, config.name());
      } catch (RuntimeException e) {
        log.warn("queue '{}': could not register its meters; it runs without metrics", config.name(), e);
      }
    }
    QueueEngine engine = new QueueEngine(config, metrics);
    if (metrics != null) {
      try {
        metrics.bind(engine);
      } catch (RuntimeException e) {
        log.warn("queue '{}': could not register its counters and gauges", config.name(), e);
      }
    }
    return engine;
  }

  private QueueEngine(QueueConfig config, @Nullable QueueMetrics metrics) {
    this.name = config.name();
    this.concurrency = config.concurrency();
    this.capacity = config.capacity();
    this.defaultPolicy = config.retryPolicy();
    this.clock = config.clock();
    this.random = config.random();
    this.listener = new SafeListener(name, config.listeners());
    this.listening = !listener.isEmpty();
    this.metrics = metrics;
    this.timing = listening || metrics != null;
    this.threadFactory = config.threadFactory();
    this.abandonAfterNanos = TaskCore.saturatedNanos(config.abandonAfter());
    this.progressNanos = TaskCore.saturatedNanos(config.progressInterval());
    this.runner = Runners.selected();
    this.scheduler =
        new ScheduledThreadPoolExecutor(
            1,
            Thread.ofPlatform().daemon(true).name("loomwork-" + name + "-scheduler").factory());
    scheduler.setRemoveOnCancelPolicy(true);
    scheduler.setKeepAliveTime(10, TimeUnit.SECONDS);
    scheduler.allowCoreThreadTimeOut(true);
  }

  public String name() {
    return name;
  }

  // ------------------------------------------------------------------------------------------
  // Accepting work
  // ------------------------------------------------------------------------------------------

  /** Waits for room as long as it takes; an interrupt while waiting rejects the task. */
  public void enqueue(TaskCore<?> task) {
    try {
      accept(task, -1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RejectedExecutionException(
          "queue '" + name + "': interrupted while waiting for room for task '" + task.name() + "'",
          e);
    }
  }

  /** Accepts the task if there is room now. */
  public boolean offer(TaskCore<?> task) {
    try {
      return accept(task, 0);
    } catch (InterruptedException e) {
      throw new AssertionError("offer without a timeout never waits", e);
    }
  }

  /** Accepts the task if there is room within {@code timeout}. */
  public boolean offer(TaskCore<?> task, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    return accept(task, Math.max(0, TaskCore.saturatedNanos(timeout)));
  }

  /**
   * Accepts a task. {@code waitNanos}: negative waits for room as long as it takes, zero does not
   * wait, positive waits at most that long. Returns false if the queue stayed full.
   */
  private boolean accept(TaskCore<?> t, long waitNanos) throws InterruptedException {
    Objects.requireNonNull(t, "task");
    String refusal;
    boolean full = false;
    InterruptedException interrupted = null;
    lock.lock();
    try {
      TaskState state = t.state();
      if (state != TaskState.NEW) {
        throw new IllegalStateException(
            "task '"
                + t.name()
                + "' cannot be enqueued: it is "
                + state
                + (state == TaskState.CANCELLED ? "" : " (a task can be enqueued once)"));
      }
      Instant now = t.needsClock() ? clock.instant() : null;
      @Nullable Instant due = now == null ? null : t.firstDue(now);
      long nanos = waitNanos;
      while (true) {
        if (acceptState != OPEN) {
          refusal = "queue '" + name + "' is shut down";
          break;
        }
        if (due != null || readyCount < capacity) {
          admit(t, now, due);
          refusal = null;
          break;
        }
        if (nanos == 0) {
          refusal = "queue '" + name + "' is full (" + capacity + " ready tasks)";
          full = true;
          break;
        }
        try {
          if (nanos < 0) {
            roomAvailable.await();
          } else {
            nanos = roomAvailable.awaitNanos(nanos);
            if (nanos <= 0) {
              nanos = 0; // one more look before giving up
            }
          }
        } catch (InterruptedException e) {
          interrupted = e;
          refusal = "interrupted while waiting for room in queue '" + name + "'";
          break;
        }
      }
      if (refusal != null) {
        rejected++;
      }
    } finally {
      lock.unlock();
    }
    if (refusal == null) {
      if (listening) {
        listener.onEnqueued(t.handle);
      }
      return true;
    }
    if (listening) {
      listener.onRejected(name, t.handle, refusal);
    }
    if (interrupted != null) {
      throw interrupted;
    }
    if (full) {
      return false; // offer's answer
    }
    throw new RejectedExecutionException(refusal + ": task '" + t.name() + "' rejected");
  }

  /** Under the lock: freezes the task and files it as ready or waiting. */
  private void admit(TaskCore<?> t, @Nullable Instant now, @Nullable Instant due) {
    // Plain writes, published by the compare-and-set that freezes the task.
    t.queue = this;
    t.id = submitted + 1;
    t.resolve(defaultPolicy, now);
    if (!t.freeze(due == null ? TaskState.READY : TaskState.WAITING)) {
      t.queue = null;
      t.id = 0;
      throw new IllegalStateException(
          "task '" + t.name() + "' cannot be enqueued: it was cancelled");
    }
    submitted++;
    if (due == null) {
      fileReady(t);
    } else {
      t.nextAttemptAt = due;
      waiting++;
      waitingSet.add(t);
      t.wakeTimer = schedule(() -> wake(t), Duration.between(now, due));
    }
    Instant deadline = t.deadline();
    if (deadline != null && now != null) {
      t.deadlineTimer = schedule(() -> deadlinePassed(t), Duration.between(now, deadline));
    }
  }

  /** Under the lock: makes a task ready again (after a wait or a failed attempt). */
  private void pushReady(TaskCore<?> t) {
    t.state(TaskState.READY);
    fileReady(t);
  }

  /** Under the lock: puts a task already in state READY at the tail of the ready deque. */
  private void fileReady(TaskCore<?> t) {
    if (timing) {
      t.readyAtNanos = System.nanoTime(); // only listeners and the metrics read the wait
    }
    readyCount++;
    ready.add(t);
    workAvailable.signal();
  }

  private Future<?> schedule(Runnable action, Duration delay) {
    return scheduler.schedule(
        () -> {
          try {
            action.run();
          } catch (Throwable e) {
            log.error("queue '{}': scheduler action failed", name, e);
          }
        },
        Math.max(0, TaskCore.saturatedNanos(delay)),
        TimeUnit.NANOSECONDS);
  }

  // ------------------------------------------------------------------------------------------
  // The owner: dispatching
  // ------------------------------------------------------------------------------------------

  /** Claims ownership and runs the dispatch loop on a new thread. */
  public void start() {
    claim();
    startOwner();
  }

  private void startOwner() {
    Thread.ofPlatform().name("loomwork-" + name + "-dispatcher").start(this::runOwned);
  }

  /** Claims ownership and runs the dispatch loop on the calling thread until the queue terminates. */
  public void run() {
    claim();
    runOwned();
  }

  private void claim() {
    lock.lock();
    try {
      if (ownerState != NOT_STARTED) {
        throw new IllegalStateException(
            "queue '" + name + "' was already started: start() or run() may be called once");
      }
      ownerState = STARTED;
    } finally {
      lock.unlock();
    }
  }

  private void runOwned() {
    boolean interrupted = false;
    QueueScope scope = runner.openQueueScope("loomwork-" + name, threadFactory);
    try {
      try {
        dispatch(scope);
      } catch (InterruptedException e) {
        interrupted = true;
        log.info("queue '{}': run() was interrupted; cancelling all work", name);
        cancelAll();
      } catch (Throwable e) {
        log.error("queue '{}': the dispatcher failed; cancelling all work", name, e);
        cancelAll();
        throw e;
      } finally {
        // The owner must join before it closes (a structured scope insists). The attempts still in
        // flight were cut if we are stopping, so they end; an interrupt here cuts them too, and
        // close() then interrupts and waits for whatever remains.
        try {
          scope.join();
        } catch (InterruptedException e) {
          interrupted = true;
          cancelAll();
        } finally {
          scope.close();
        }
      }
    } finally {
      terminate();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void dispatch(QueueScope scope) throws InterruptedException {
    TaskCore<?>[] tasks = new TaskCore<?>[BATCH];
    Attempt[] attempts = new Attempt[BATCH];
    while (true) {
      int n = 0;
      lock.lockInterruptibly();
      try {
        while (true) {
          if (acceptState == STOP) {
            return;
          }
          while (n < BATCH && running < concurrency) {
            TaskCore<?> t = ready.poll();
            if (t == null) {
              break;
            }
            if (t.state() != TaskState.READY) {
              continue; // cancelled or failed while ready; already counted out
            }
            readyCount--;
            running++;
            inFlight.link(t);
            t.state(TaskState.RUNNING);
            Attempt a = new Attempt(t.attempts + 1);
            t.current = a;
            tasks[n] = t;
            attempts[n] = a;
            n++;
          }
          if (n > 0) {
            if (lock.hasWaiters(roomAvailable)) {
              roomAvailable.signalAll();
            }
            break;
          }
          if (acceptState == SHUTDOWN && outstanding() == 0) {
            return;
          }
          workAvailable.await();
        }
      } finally {
        lock.unlock();
      }
      for (int i = 0; i < n; i++) {
        fork(scope, tasks[i], attempts[i]);
        tasks[i] = null;
        attempts[i] = null;
      }
    }
  }

  private void fork(QueueScope scope, TaskCore<?> t, Attempt a) {
    try {
      scope.fork(() -> attempt(t, a));
    } catch (Throwable e) {
      // The thread factory refused or failed: that counts as a failed attempt.
      log.error("queue '{}': could not start a thread for task '{}'", name, t.name(), e);
      t.attempts = a.number;
      started(t, a.number, System.nanoTime()); // listeners pair every attempt's end with its start
      finish(t, a, true, null, e, a.settleUnstarted(), 0);
    }
  }

  private int outstanding() {
    return readyCount + waiting + running;
  }

  // ------------------------------------------------------------------------------------------
  // Attempt threads
  // ------------------------------------------------------------------------------------------

  private void attempt(TaskCore<?> t, Attempt a) {
    long start = System.nanoTime();
    boolean ran = false;
    Object result = null;
    Throwable failure = null;
    if (a.begin()) {
      Instant deadline = t.deadline();
      if (deadline != null && !clock.instant().isBefore(deadline)) {
        a.cut(Cut.DEADLINE); // no attempt starts after the deadline
      } else {
        ran = true;
        t.attempts = a.number;
        started(t, a.number, start);
        Duration timeout = t.resolvedPolicy.attemptTimeout();
        Future<?> timer = timeout == null ? null : schedule(() -> cut(a, Cut.TIMEOUT), timeout);
        try {
          result = call(t, a);
        } catch (Throwable e) {
          failure = e;
        } finally {
          if (timer != null) {
            timer.cancel(false);
          }
        }
      }
    }
    Cut cut = a.settle();
    finish(t, a, ran, result, failure, cut, System.nanoTime() - start);
  }

  /** An attempt starts: the wait timer (first attempts only) and the listeners. */
  private void started(TaskCore<?> t, int attempt, long nowNanos) {
    if (!timing) {
      return;
    }
    long waited = nowNanos - t.readyAtNanos;
    if (metrics != null && attempt == 1) {
      metrics.recordWait(waited);
    }
    if (listening) {
      listener.onAttemptStarted(t.handle, attempt, Duration.ofNanos(waited));
    }
  }

  private <T extends @Nullable Object> T call(TaskCore<T> t, Attempt a) throws Exception {
    AttemptContext context = new AttemptContext(this, t, a);
    return ScopedValue.where(AttemptContext.CURRENT, context)
        .call(() -> runner.runAttempt(threadFactory, () -> t.job.call(context)));
  }

  private static void cut(Attempt a, Cut reason) {
    if (a.cut(reason)) {
      a.interrupt();
    }
  }

  /**
   * Decides the task's fate after an attempt, then acts on it.
   *
   * @param ran whether the body was called (or the attempt failed to start)
   * @param cut why the attempt was cut, or null if it was not
   */
  private void finish(
      TaskCore<?> t,
      Attempt a,
      boolean ran,
      @Nullable Object result,
      @Nullable Throwable failure,
      @Nullable Cut cut,
      long nanos) {
    RetryPolicy policy = t.resolvedPolicy;
    AttemptOutcome outcome;
    Throwable error;
    if (ran && failure == null && cut == null) {
      // A body that returned after being cut (it swallowed the interrupt) does not count as a
      // success: the cut came first. The structured runner sees the same, as its join throws.
      outcome = AttemptOutcome.SUCCEEDED;
      error = null;
    } else if (cut == Cut.TIMEOUT) {
      outcome = AttemptOutcome.TIMED_OUT;
      error = new AttemptTimeoutException(t.name(), a.number, Objects.requireNonNull(policy.attemptTimeout()));
      if (failure != null) {
        error.addSuppressed(failure);
      }
    } else if (cut != null) {
      outcome = AttemptOutcome.CANCELLED;
      error = failure;
    } else {
      outcome = AttemptOutcome.FAILED;
      error = Objects.requireNonNull(failure, "a failed attempt has a failure");
    }
    boolean retryable = error != null && cut != Cut.CANCEL && cut != Cut.DEADLINE && isRetryable(policy, error);

    TaskState end = null;
    Instant retryAt = null;
    lock.lock();
    try {
      running--;
      inFlight.unlink(t);
      t.current = null;
      if (ran) {
        switch (outcome) {
          case SUCCEEDED -> attemptsSucceeded++;
          case FAILED -> attemptsFailed++;
          case TIMED_OUT -> attemptsTimedOut++;
          case CANCELLED -> attemptsCancelled++;
        }
      }
      if (outcome == AttemptOutcome.SUCCEEDED) {
        t.result = result;
        end = TaskState.SUCCEEDED;
      } else if (cut == Cut.DEADLINE) {
        t.error = deadlineExceeded(t);
        end = TaskState.FAILED;
      } else if (cut == Cut.CANCEL || t.cancelRequested) {
        end = TaskState.CANCELLED;
      } else {
        t.error = error;
        if (!retryable || a.number > policy.retries()) {
          end = TaskState.FAILED;
        } else if (acceptState == STOP) {
          end = TaskState.CANCELLED; // it would retry, but the queue is stopping
        } else {
          Duration delay = policy.backoff().delay(a.number, random);
          retryAt = clock.instant().plus(delay);
          Instant deadline = t.deadline();
          if (deadline != null && !retryAt.isBefore(deadline)) {
            t.error = new DeadlineExceededException(t.name(), deadline, error);
            end = TaskState.FAILED;
            retryAt = null;
          } else if (delay.isZero()) {
            retriesScheduled++;
            pushReady(t);
          } else {
            retriesScheduled++;
            t.state(TaskState.WAITING);
            t.nextAttemptAt = retryAt;
            waiting++;
            waitingSet.add(t);
            t.wakeTimer = schedule(() -> wake(t), delay);
          }
        }
      }
      if (end != null) {
        if (t.cutByShutdown && end == TaskState.CANCELLED) {
          shutdownCancelled.add(snapshot(t, TaskState.RUNNING));
        }
        terminal(t, end);
      }
      // A freed permit matters to the dispatcher only if work waits for it (a new task signals by
      // itself) or if it must notice the end of a shutdown; otherwise let it sleep.
      if (readyCount > 0 || acceptState != OPEN) {
        workAvailable.signal();
      }
      if (acceptState != OPEN) {
        settled.signalAll();
      }
    } finally {
      lock.unlock();
    }

    if (ran) {
      if (metrics != null) {
        metrics.recordAttempt(nanos);
      }
      if (listening) {
        listener.onAttemptFinished(t.handle, a.number, outcome, Duration.ofNanos(nanos), error);
      }
    }
    if (retryAt != null) {
      Throwable e = Objects.requireNonNull(error);
      if (log.isDebugEnabled()) {
        log.debug(
            "queue '{}': task '{}' attempt {} failed ({}); retry at {}",
            name, t.name(), a.number, e.toString(), retryAt);
      }
      if (listening) {
        listener.onRetryScheduled(t.handle, e, retryAt);
      }
    }
    if (end != null) {
      complete(t);
    }
  }

  private boolean isRetryable(RetryPolicy policy, Throwable error) {
    try {
      return policy.isRetryable(error);
    } catch (Throwable e) {
      log.warn("queue '{}': retryIf threw on {}; not retrying", name, error, e);
      return false;
    }
  }

  private static DeadlineExceededException deadlineExceeded(TaskCore<?> t) {
    return new DeadlineExceededException(t.name(), Objects.requireNonNull(t.deadline()), t.error);
  }

  /** Under the lock: moves a task into a terminal state and counts it. */
  private void terminal(TaskCore<?> t, TaskState end) {
    t.state(end);
    t.current = null;
    t.nextAttemptAt = null;
    Future<?> deadlineTimer = t.deadlineTimer;
    if (deadlineTimer != null) {
      deadlineTimer.cancel(false);
      t.deadlineTimer = null;
    }
    switch (end) {
      case SUCCEEDED -> succeeded++;
      case FAILED -> failed++;
      case CANCELLED -> cancelled++;
      default -> throw new AssertionError(end);
    }
  }

  /** Outside the lock, once per task: listeners, the after-callback, then the future. */
  @SuppressWarnings("unchecked")
  private <T extends @Nullable Object> void complete(TaskCore<T> t) {
    TaskState state = t.state();
    Throwable error = t.error;
    switch (state) {
      case SUCCEEDED -> {
        if (listening) {
          listener.onSucceeded(t.handle);
        }
      }
      case FAILED -> {
        Throwable e = Objects.requireNonNull(error);
        log.warn(
            "queue '{}': task '{}' failed after {} attempt(s): {}", name, t.name(), t.attempts, e.toString(), e);
        if (listening) {
          listener.onFailed(t.handle, e);
        }
      }
      case CANCELLED -> {
        log.debug("queue '{}': task '{}' cancelled after {} attempt(s)", name, t.name(), t.attempts);
        if (listening) {
          listener.onCancelled(t.handle);
        }
      }
      default -> throw new AssertionError(state);
    }
    settle(t, (T) t.result, error);
    t.result = null;
  }

  /** Completes a task cancelled before it was ever enqueued. */
  static void completeUnqueued(TaskCore<?> t) {
    settle(t, null, null);
  }

  private static <T extends @Nullable Object> void settle(
      TaskCore<T> t, @Nullable T result, @Nullable Throwable error) {
    Consumer<? super Task<T>> after = t.afterCallback();
    if (after != null) {
      try {
        after.accept(t.handle);
      } catch (Throwable e) {
        log.warn("task '{}': the after-callback threw; the task keeps its outcome", t.name(), e);
      }
    }
    switch (t.state()) {
      case SUCCEEDED -> t.done.complete(result);
      case FAILED -> t.done.completeExceptionally(Objects.requireNonNull(error));
      default -> t.done.cancel(false);
    }
  }

  // ------------------------------------------------------------------------------------------
  // The scheduler's actions, and cancellation
  // ------------------------------------------------------------------------------------------

  /** The scheduler: a waiting task's time has come. */
  private void wake(TaskCore<?> t) {
    lock.lock();
    try {
      if (t.state() != TaskState.WAITING) {
        return; // cancelled or failed meanwhile
      }
      waiting--;
      waitingSet.remove(t);
      t.wakeTimer = null;
      t.nextAttemptAt = null;
      pushReady(t);
    } finally {
      lock.unlock();
    }
  }

  /** The scheduler: a task's overall deadline has passed. */
  private void deadlinePassed(TaskCore<?> t) {
    stop(t, Cut.DEADLINE);
  }

  /**
   * Cancels one task; see {@code Task.cancel()}.
   *
   * @return true if the task was pending and is now cancelled, or was running and was asked to stop
   */
  boolean cancel(TaskCore<?> t) {
    return stop(t, Cut.CANCEL);
  }

  /**
   * Ends a task for {@code reason} ({@code CANCEL} or {@code DEADLINE}): a pending task at once
   * (cancelled, or failed with a deadline error), a running one by cutting its attempt, whose thread
   * then finishes the task. Returns false if the task was already done (or already asked to stop).
   */
  private boolean stop(TaskCore<?> t, Cut reason) {
    Attempt toCut = null;
    boolean endedNow = false;
    lock.lock();
    try {
      switch (t.state()) {
        case READY, WAITING -> {
          unfile(t);
          if (reason == Cut.DEADLINE) {
            t.error = deadlineExceeded(t);
            terminal(t, TaskState.FAILED);
          } else {
            terminal(t, TaskState.CANCELLED);
          }
          endedNow = true;
        }
        case RUNNING -> {
          if (reason == Cut.CANCEL) {
            if (t.cancelRequested) {
              return false;
            }
            t.cancelRequested = true;
          }
          Attempt a = t.current;
          if (a != null && a.cut(reason)) {
            toCut = a;
          }
        }
        default -> {
          return false;
        }
      }
    } finally {
      lock.unlock();
    }
    if (toCut != null) {
      toCut.interrupt();
    }
    if (endedNow) {
      complete(t);
    }
    return true;
  }

  /** Under the lock: takes a ready or waiting task out of the books, before a terminal state. */
  private void unfile(TaskCore<?> t) {
    if (t.state() == TaskState.READY) {
      readyCount--; // its deque entry is skipped by the dispatcher
      if (lock.hasWaiters(roomAvailable)) {
        roomAvailable.signalAll();
      }
    } else {
      waiting--;
      waitingSet.remove(t);
      cancelWakeTimer(t);
    }
    workAvailable.signal(); // the dispatcher may be waiting for the last task to go
    if (acceptState != OPEN) {
      settled.signalAll();
    }
  }

  private static void cancelWakeTimer(TaskCore<?> t) {
    Future<?> timer = t.wakeTimer;
    if (timer != null) {
      timer.cancel(false);
      t.wakeTimer = null;
    }
  }

  /** Stops accepting, cancels everything pending and cuts everything running. */
  private void cancelAll() {
    List<TaskCore<?>> cancelledNow = new ArrayList<>();
    List<Attempt> toCut = new ArrayList<>();
    lock.lock();
    try {
      acceptState = STOP;
      for (TaskCore<?> t : ready) {
        if (t.state() == TaskState.READY) {
          shutdownCancelled.add(snapshot(t, TaskState.READY));
          terminal(t, TaskState.CANCELLED);
          cancelledNow.add(t);
        }
      }
      ready.clear();
      readyCount = 0;
      for (TaskCore<?> t : waitingSet) {
        shutdownCancelled.add(snapshot(t, TaskState.WAITING));
        cancelWakeTimer(t);
        terminal(t, TaskState.CANCELLED);
        cancelledNow.add(t);
      }
      waitingSet.clear();
      waiting = 0;
      for (TaskCore<?> t = inFlight.head; t != null; t = t.nextRunning) {
        t.cutByShutdown = true;
        Attempt a = t.current;
        if (a != null && a.cut(Cut.CANCEL)) {
          toCut.add(a);
        }
      }
      workAvailable.signalAll();
      roomAvailable.signalAll();
      settled.signalAll();
    } finally {
      lock.unlock();
    }
    for (Attempt a : toCut) {
      a.interrupt();
    }
    for (TaskCore<?> t : cancelledNow) {
      complete(t);
    }
  }

  private TaskSnapshot snapshot(TaskCore<?> t, TaskState state) {
    return new TaskSnapshot(name, t.name(), state, t.attempts, t.error, t.nextAttemptAt);
  }

  /** The owner, last: every attempt thread has ended. */
  private void terminate() {
    scheduler.shutdownNow();
    boolean interrupted = false;
    while (true) {
      try {
        if (scheduler.awaitTermination(1, TimeUnit.MINUTES)) {
          break;
        }
        log.warn("queue '{}': the scheduler thread is slow to stop", name);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    lock.lock();
    try {
      acceptState = Math.max(acceptState, SHUTDOWN);
      ownerState = TERMINATED;
      settled.signalAll();
      roomAvailable.signalAll();
    } finally {
      lock.unlock();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Shutdown
  // ------------------------------------------------------------------------------------------

  /** Stops accepting and drains everything; returns when the queue has terminated. */
  public void shutdown() {
    if (AttemptContext.isInside(this)) {
      throw new IllegalStateException(
          "queue '"
              + name
              + "': shutdown() from one of its own tasks would wait for that task forever; call"
              + " shutdown(Duration) or shutdownNow(), or shut down from outside the queue");
    }
    long start = System.nanoTime();
    beginShutdown();
    try {
      awaitTerminated(start, -1);
      logDrained(start);
    } catch (InterruptedException e) {
      log.info("queue '{}': interrupted while draining; cancelling what is left", name);
      cancelAndReport(start);
      Thread.currentThread().interrupt();
    }
  }

  /** Drains until {@code timeout}, then cancels what is left and reports it. */
  public ShutdownReport shutdown(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    long start = System.nanoTime();
    beginShutdown();
    boolean interrupted = false;
    try {
      if (awaitTerminated(start, Math.max(0, TaskCore.saturatedNanos(timeout)))) {
        logDrained(start);
        return report(start, List.of());
      }
      log.info("queue '{}': shutdown deadline of {} passed; cancelling what is left", name, timeout);
    } catch (InterruptedException e) {
      interrupted = true;
      log.info("queue '{}': interrupted while draining; cancelling what is left", name);
    }
    ShutdownReport report = cancelAndReport(start);
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return report;
  }

  /** Cancels everything at once and reports it. */
  public ShutdownReport shutdownNow() {
    long start = System.nanoTime();
    beginShutdown();
    return cancelAndReport(start);
  }

  private void beginShutdown() {
    boolean first = false;
    boolean startOwner = false;
    int r;
    int w;
    int q;
    lock.lock();
    try {
      if (acceptState == OPEN) {
        acceptState = SHUTDOWN;
        first = true;
      }
      if (ownerState == NOT_STARTED) {
        ownerState = STARTED; // nobody started it: start it so that what was accepted still runs
        startOwner = true;
      }
      workAvailable.signalAll();
      roomAvailable.signalAll();
      settled.signalAll();
      r = running;
      w = waiting;
      q = readyCount;
    } finally {
      lock.unlock();
    }
    if (startOwner) {
      startOwner();
    }
    if (first) {
      log.info("queue '{}': shutting down with {} ready, {} running, {} waiting", name, q, r, w);
    }
  }

  /**
   * Waits for the owner to terminate, logging progress. {@code timeoutNanos} negative means no limit.
   * Returns whether it terminated.
   */
  private boolean awaitTerminated(long start, long timeoutNanos) throws InterruptedException {
    long nextProgress = start + progressNanos;
    while (true) {
      int r;
      int w;
      int q;
      lock.lockInterruptibly();
      try {
        if (ownerState == TERMINATED) {
          return true;
        }
        long now = System.nanoTime();
        long wait = nextProgress - now;
        if (timeoutNanos >= 0) {
          long left = start + timeoutNanos - now;
          if (left <= 0) {
            return false;
          }
          wait = Math.min(wait, left);
        }
        if (wait > 0) {
          settled.awaitNanos(wait);
          continue;
        }
        nextProgress = now + progressNanos;
        r = running;
        w = waiting;
        q = readyCount;
      } finally {
        lock.unlock();
      }
      log.info(
          "queue '{}': draining for {} ms: {} ready, {} running, {} waiting to retry",
          name, (System.nanoTime() - start) / 1_000_000, q, r, w);
    }
  }

  private void logDrained(long start) {
    QueueStats s;
    boolean cut;
    lock.lock();
    try {
      s = stats();
      cut = acceptState == STOP; // another call cancelled what was left while this one waited
    } finally {
      lock.unlock();
    }
    log.info(
        "queue '{}': {} in {} ms: {} succeeded, {} failed, {} cancelled",
        name,
        cut ? "stopped by a cancelling shutdown" : "drained",
        (System.nanoTime() - start) / 1_000_000,
        s.succeeded(),
        s.failed(),
        s.cancelled());
  }

  /** Cancels everything, waits up to {@code abandonAfter} for cut attempts, and reports. */
  private ShutdownReport cancelAndReport(long start) {
    cancelAll();
    long graceEnd = System.nanoTime() + abandonAfterNanos;
    List<TaskCore<?>> abandoned = new ArrayList<>();
    List<TaskSnapshot> abandonedSnapshots = new ArrayList<>();
    ShutdownReport report;
    boolean interrupted = false;
    lock.lock();
    try {
      // Wait for the cut attempts to end and the owner to terminate, up to abandonAfter.
      while (ownerState != TERMINATED) {
        long left = graceEnd - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          settled.awaitNanos(left);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      // Both lists at the same moment, so that a task ending now is in exactly one of them.
      for (TaskCore<?> t = inFlight.head; t != null; t = t.nextRunning) {
        abandoned.add(t);
      }
      for (TaskCore<?> t : abandoned) {
        abandonedSnapshots.add(snapshot(t, TaskState.RUNNING));
      }
      report = report(start, abandonedSnapshots);
    } finally {
      lock.unlock();
    }
    for (TaskCore<?> t : abandoned) {
      log.warn(
          "queue '{}': task '{}' ignored its interruption and still runs; it is abandoned",
          name, t.name());
      if (listening) {
        listener.onAbandoned(t.handle);
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    log.info(
        "queue '{}': stopped in {} ms: {} succeeded, {} failed, {} cancelled by the shutdown, {} abandoned",
        name,
        report.elapsed().toMillis(),
        report.succeeded(),
        report.failed(),
        report.cancelled().size(),
        report.abandoned().size());
    return report;
  }

  private ShutdownReport report(long start, List<TaskSnapshot> abandoned) {
    lock.lock();
    try {
      return new ShutdownReport(
          name,
          succeeded,
          failed,
          List.copyOf(shutdownCancelled),
          abandoned,
          Duration.ofNanos(System.nanoTime() - start));
    } finally {
      lock.unlock();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Reading
  // ------------------------------------------------------------------------------------------

  public QueueStats stats() {
    lock.lock();
    try {
      return new QueueStats(
          submitted, rejected, readyCount, running, waiting, succeeded, failed, cancelled);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Reads one of the counts the metrics publish, under the lock; called when a registry is scraped.
   *
   * @param count which count
   * @return its value
   */
  long count(Count count) {
    lock.lock();
    try {
      return switch (count) {
        case SUBMITTED -> submitted;
        case REJECTED -> rejected;
        case SUCCEEDED -> succeeded;
        case FAILED -> failed;
        case CANCELLED -> cancelled;
        case ATTEMPTS_SUCCEEDED -> attemptsSucceeded;
        case ATTEMPTS_FAILED -> attemptsFailed;
        case ATTEMPTS_TIMED_OUT -> attemptsTimedOut;
        case ATTEMPTS_CANCELLED -> attemptsCancelled;
        case RETRIES -> retriesScheduled;
        case READY -> readyCount;
        case RUNNING -> running;
        case WAITING -> waiting;
      };
    } finally {
      lock.unlock();
    }
  }

  /** The counts {@link #count(Count)} reads. */
  enum Count {
    SUBMITTED,
    REJECTED,
    SUCCEEDED,
    FAILED,
    CANCELLED,
    ATTEMPTS_SUCCEEDED,
    ATTEMPTS_FAILED,
    ATTEMPTS_TIMED_OUT,
    ATTEMPTS_CANCELLED,
    RETRIES,
    READY,
    RUNNING,
    WAITING
  }

  public boolean isShutdown() {
    lock.lock();
    try {
      return acceptState != OPEN;
    } finally {
      lock.unlock();
    }
  }

  public boolean isTerminated() {
    lock.lock();
    try {
      return ownerState == TERMINATED;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    QueueStats s = stats();
    return "WorkQueue[name="
        + name
        + ", runner="
        + runner.name()
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
