package dev.loomwork.internal;

import dev.loomwork.Backoff;
import dev.loomwork.Job;
import dev.loomwork.RetryPolicy;
import dev.loomwork.Task;
import dev.loomwork.TaskState;
import dev.loomwork.TaskType;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The state behind a {@link Task} handle.
 *
 * <p>Life: {@code NEW} while the caller configures it (configuration fields are plain, written by
 * that thread only); {@link QueueState#admit} freezes it by compare-and-set {@code NEW → READY} or
 * {@code NEW → WAITING} under the queue's lock, which also publishes the configuration to every other
 * thread. A task not yet enqueued can be cancelled by the same compare-and-set {@code NEW →
 * CANCELLED}, without any lock. After acceptance every transition happens under the queue's lock (see
 * {@link QueueState} for the whole graph). The fields the handle reads ({@code state}, {@code
 * attempts}, {@code error}, {@code nextAttemptAt}) are volatile so that reading them needs no lock.
 * The order of the task's events is kept by the fields of its superclass, {@link EventTurn}.
 */
public final class TaskCore<T extends @Nullable Object> extends EventTurn {
  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(TaskCore.class, "state", TaskState.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  // ---- configuration: written by the configuring thread while NEW, frozen by acceptance ----
  final Task<T> handle;
  /** The body; for a typed task, bound to the queue's handler at acceptance ({@link Handlers}). */
  Job<T> job;
  private @Nullable String name;
  private @Nullable RetryPolicy policy;
  private int retries = -1;
  private @Nullable Backoff backoff;
  private @Nullable Duration attemptTimeout;
  private @Nullable Duration within;
  private @Nullable Instant notBefore;
  private @Nullable Duration delay;
  private @Nullable Consumer<? super Task<T>> after;

  /** What makes a typed task, or null for a closure (kept apart so closures stay small). */
  final @Nullable Typed typed;
  /** A recurring task's tick: its scheduled time, or null. Written before the task is enqueued. */
  public @Nullable Instant scheduledAt;

  // ---- carried from the submitter to the attempts (written before the freeze or the filing) ----
  /**
   * The trace its attempts continue, or null: the submitter's current observation (a task of this
   * process's memory, captured at acceptance by a queue with an observation registry), or a {@link
   * Tracing.TraceContext} (read from a durable task's row). Typed {@code Object} so that this class
   * names no Micrometer type.
   */
  @Nullable Object trace;
  /** The submitter's MDC, captured at acceptance by a queue that carries it ({@code carryMdc}); or null. */
  java.util.@Nullable Map<String, String> mdc;

  // ---- fixed at acceptance: resolved by the enqueuing thread, published by the freeze ----
  /** Written before the freezing compare-and-set publishes it (see {@link #cancel()}). */
  @Nullable QueueEngine queue;
  private @Nullable RetryPolicy resolvedPolicy;
  /** The task's number in its queue, from 1 in the order of acceptance; 0 until accepted. */
  long number;
  private volatile @Nullable Instant deadline;

  // ---- runtime: guarded by the queue's lock, except where said ----
  private volatile TaskState state = TaskState.NEW;
  /** Written by the attempt thread as its attempt starts (one attempt at a time runs). */
  volatile int attempts;
  volatile @Nullable Throwable error;
  volatile @Nullable Instant nextAttemptAt;
  @Nullable Attempt current;
  @Nullable Future<?> deadlineTimer;
  /** When it last became ready ({@code System.nanoTime()}), if anyone reads wait times. */
  long readyAtNanos;
  boolean cancelRequested;
  boolean cutByShutdown;
  @Nullable Object result;
  /** Links of the queue's list of running tasks ({@link RunningList}). */
  @Nullable TaskCore<?> prevRunning;
  @Nullable TaskCore<?> nextRunning;
  /** While {@code WAITING}: when it is due, and its index in the store's heap ({@link MemoryStore}). */
  long dueNanos;
  int heapIndex;

  // ---- a task claimed from a durable store (written before it is frozen, then under the lock) ----
  /** Its id in the durable store, or -1 for a task of this process's memory. */
  long storeId = -1;
  /** The attempt its claim started, which fences the outcome. */
  int storeAttempt;
  /**
   * Surrendered with every other task of this process ({@link QueueState#surrenderAll}, when a durable
   * worker loses its lease): whatever its attempt does, nothing is written and nothing published.
   */
  boolean surrendered;

  /** Completed once, after the after-callback; the handle's {@code await} and view read it. */
  final TaskFuture<T> done = new TaskFuture<>(this);

  /**
   * Creates the state behind {@code handle}.
   *
   * @param handle the public handle
   * @param job the body
   */
  public TaskCore(Task<T> handle, Job<T> job) {
    this.handle = handle;
    this.job = Objects.requireNonNull(job, "job");
    this.typed = null;
  }

  /**
   * Creates the state behind a typed task's handle; its body is bound when it is accepted.
   *
   * @param handle the public handle
   * @param type its type
   * @param payload its payload, encoded at acceptance
   */
  public TaskCore(Task<T> handle, TaskType<?> type, @Nullable Object payload) {
    this.handle = handle;
    this.job = UNBOUND;
    this.typed = new Typed(type, payload);
  }

  /**
   * Creates the state behind a typed task read back from a report: its payload is already JSON, and
   * it keeps its id.
   *
   * @param handle the public handle
   * @param handler its handler's name
   * @param payloadJson its encoded payload
   * @param id its id in the report
   */
  public TaskCore(Task<T> handle, String handler, String payloadJson, String id) {
    this.handle = handle;
    this.job = UNBOUND;
    this.typed = new Typed(handler, payloadJson, id);
  }

  @SuppressWarnings({"rawtypes", "unchecked"})
  private static final Job UNBOUND =
      ctx -> {
        throw new IllegalStateException("a typed task's body is bound when it is enqueued");
      };

  // ---- configuration ----

  private void checkNew(String what) {
    if (state != TaskState.NEW) {
      throw new IllegalStateException(
          "task '" + name() + "' is " + state + ": " + what + " can only be set before it is enqueued");
    }
  }

  public void name(String name) {
    Objects.requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException("name: '" + name + "' (expected: not blank)");
    }
    checkNew("name");
    this.name = name;
  }

  public void retryPolicy(RetryPolicy policy) {
    Objects.requireNonNull(policy, "policy");
    checkNew("retryPolicy");
    this.policy = policy;
  }

  public void retries(int retries) {
    if (retries < 0) {
      throw new IllegalArgumentException("retries: " + retries + " (expected: >= 0)");
    }
    checkNew("retries");
    this.retries = retries;
  }

  public void backoff(Backoff backoff) {
    Objects.requireNonNull(backoff, "backoff");
    checkNew("backoff");
    this.backoff = backoff;
  }

  public void attemptTimeout(Duration timeout) {
    requirePositive(timeout, "attemptTimeout");
    checkNew("attemptTimeout");
    this.attemptTimeout = timeout;
  }

  public void within(Duration within) {
    requirePositive(within, "within");
    checkNew("within");
    this.within = within;
  }

  public void notBefore(Instant notBefore) {
    Objects.requireNonNull(notBefore, "notBefore");
    checkNew("notBefore");
    this.notBefore = notBefore;
    this.delay = null;
  }

  public void delay(Duration delay) {
    Objects.requireNonNull(delay, "delay");
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay: " + delay + " (expected: >= 0)");
    }
    checkNew("delay");
    this.delay = delay;
    this.notBefore = null;
  }

  public void after(Consumer<? super Task<T>> after) {
    Objects.requireNonNull(after, "callback");
    checkNew("after");
    this.after = after;
  }

  private static void requirePositive(Duration d, String what) {
    Objects.requireNonNull(d, what);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + ": " + d + " (expected: > 0)");
    }
  }

  // ---- freezing, under the queue's lock ----

  /** A typed task's handler name, or null for a closure. */
  @Nullable String handler() {
    Typed t = typed;
    return t == null ? null : t.handler;
  }

  /** A typed task's payload as JSON text once encoded, or null. */
  @Nullable String payloadJson() {
    Typed t = typed;
    return t == null ? null : t.json;
  }

  /** The id a task read back from a report keeps, or null. */
  @Nullable String fixedId() {
    Typed t = typed;
    return t == null ? null : t.fixedId;
  }

  /**
   * The task's stable id: the id it was read back with, or its queue's instance and its number in
   * that queue ({@code "4f0c...-17"}); {@code "unqueued"} before it is accepted.
   */
  public String id() {
    String id = idOrNull();
    return id == null ? "unqueued" : id;
  }

  /** The task's stable id, or null before it is accepted; see {@link #id()}. */
  public @Nullable String idOrNull() {
    String f = fixedId();
    if (f != null) {
      return f;
    }
    QueueEngine q = state == TaskState.NEW ? null : queue;
    return q == null ? null : q.instance() + "-" + number;
  }

  /** Whether accepting this task needs the clock: it has a deadline or a not-before time. */
  boolean needsClock() {
    return within != null || delay != null || notBefore != null;
  }

  /** When the first attempt is due, or null if at once; {@link Instant#MAX} means never. */
  @Nullable Instant firstDue(Instant now) {
    if (delay != null) {
      return delay.isZero() ? null : Timers.plus(now, delay);
    }
    return notBefore != null && notBefore.isAfter(now) ? notBefore : null;
  }

  /**
   * At acceptance, by the enqueuing thread before the queue's lock: fixes the policy and the
   * deadline (a deadline beyond {@link Instant#MAX} is none).
   */
  void resolve(RetryPolicy queueDefault, @Nullable Instant now) {
    TaskType<?> t = typed == null ? null : typed.type;
    RetryPolicy p =
        policy != null ? policy : t != null && t.retryPolicy() != null ? t.retryPolicy() : queueDefault;
    Duration typeTimeout = t == null ? null : t.attemptTimeout();
    if (typeTimeout != null && policy == null) {
      p = p.withAttemptTimeout(typeTimeout);
    }
    if (retries >= 0) {
      p = p.withRetries(retries);
    }
    if (backoff != null) {
      p = p.withBackoff(backoff);
    }
    if (attemptTimeout != null) {
      p = p.withAttemptTimeout(attemptTimeout);
    }
    resolvedPolicy = p;
    if (within != null && now != null) {
      Instant d = Timers.plus(now, within);
      deadline = d.equals(Instant.MAX) ? null : d;
    }
  }

  /** Under the queue's lock: throws unless the task can still be enqueued. */
  void checkEnqueueable() {
    TaskState s = state;
    if (s != TaskState.NEW) {
      throw new IllegalStateException(
          "task '"
              + name()
              + "' cannot be enqueued: it is "
              + s
              + (s == TaskState.CANCELLED ? "" : " (a task can be enqueued once)"));
    }
  }

  /** A task claimed from a durable store: its deadline, fixed by the store when it was enqueued. */
  void deadline(@Nullable Instant deadline) {
    this.deadline = deadline;
  }

  /**
   * What a durable store writes down of a task before it is accepted: refuses what cannot be written
   * down or cannot run in another process.
   *
   * @param queueDefault the policy of a task that sets none and whose type sets none
   * @throws IllegalArgumentException if the task is a closure, has an after-callback, or sets a
   *     backoff, attempt timeout or retry policy of its own (set those on its {@code TaskType})
   * @throws IllegalStateException if the task was already enqueued or cancelled
   */
  public DurableSpec durableSpec(RetryPolicy queueDefault) {
    checkEnqueueable();
    Typed t = typed;
    if (t == null) {
      throw new IllegalArgumentException(
          "task '" + name() + "' is a closure, which cannot be written down: enqueue a typed task"
              + " (Task.of(type, payload)) on a durable store");
    }
    if (after != null) {
      throw new IllegalArgumentException(
          "task '" + name() + "' has an after-callback, which cannot run in another process: a"
              + " durable store keeps none (use a listener on the worker's queue)");
    }
    String refused =
        backoff != null ? "a backoff" : attemptTimeout != null ? "an attempt timeout" : policy != null
            ? "a retry policy" : null;
    if (refused != null) {
      throw new IllegalArgumentException(
          "task '" + name() + "' sets " + refused + " of its own, which a durable store does not"
              + " keep: set it on its TaskType");
    }
    t.encode(name());
    TaskType<?> type = t.type;
    RetryPolicy p = type != null && type.retryPolicy() != null ? type.retryPolicy() : queueDefault;
    int maxAttempts = (int) Math.min(Integer.MAX_VALUE, (retries >= 0 ? retries : p.retries()) + 1L);
    return new DurableSpec(
        t.handler, t.version, Objects.requireNonNull(t.json), name, notBefore, delay, maxAttempts, within);
  }

  /** The policy resolved at acceptance. */
  RetryPolicy resolvedPolicy() {
    return Objects.requireNonNull(resolvedPolicy, "not accepted yet");
  }

  boolean freeze(TaskState to) {
    return STATE.compareAndSet(this, TaskState.NEW, to);
  }

  void state(TaskState to) {
    state = to;
  }

  @Nullable Consumer<? super Task<T>> afterCallback() {
    return after;
  }

  /**
   * Completes {@link #done} by the terminal state, once the after-callback has run. A cancelled task
   * gets a {@link CancellationException} without a stack trace: a shutdown that cancels a million
   * tasks from a deep stack must not keep a million stack traces.
   */
  @SuppressWarnings("unchecked")
  void complete() {
    T value = (T) result;
    result = null;
    done.finish(state, value, error);
  }

  // ---- the handle's view ----

  /** The configured name, or {@code task-N} by the order of acceptance (formatted when asked). */
  public String name() {
    String n = name;
    if (n != null) {
      return n;
    }
    // Read the state first: the volatile read that makes the id written before freezing visible.
    return state == TaskState.NEW || number == 0 ? "task-unqueued" : "task-" + number;
  }

  public TaskState state() {
    return state;
  }

  public int attempts() {
    return attempts;
  }

  public @Nullable Throwable error() {
    return error;
  }

  public @Nullable Instant nextAttemptAt() {
    return nextAttemptAt;
  }

  public @Nullable Instant deadline() {
    return deadline;
  }

  /**
   * Cancels the task; see {@link Task#cancel()}.
   *
   * @return true if this call cancelled the task or asked its running attempt to stop
   */
  public boolean cancel() {
    QueueEngine q = state == TaskState.NEW ? null : queue;
    if (q == null) {
      if (STATE.compareAndSet(this, TaskState.NEW, TaskState.CANCELLED)) {
        Publisher.publishUnqueued(this);
        return true;
      }
      // Accepted concurrently: the engine wrote queue before the compare-and-set we just lost to,
      // and losing it was a volatile read of that state, so queue is visible now.
      q = queue;
      if (q == null) {
        return false;
      }
    }
    return q.cancel(this);
  }

  public T await() throws InterruptedException {
    return done.await();
  }

  public T await(Duration timeout) throws InterruptedException, TimeoutException {
    return done.await(timeout);
  }

  public CompletableFuture<T> future() {
    return done.view();
  }

  @Override
  public String toString() {
    return "Task[name=" + name() + ", state=" + state + ", attempts=" + attempts + "]";
  }
}
