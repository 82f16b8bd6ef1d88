package dev.loomwork.internal;

import dev.loomwork.Backoff;
import dev.loomwork.Job;
import dev.loomwork.RetryPolicy;
import dev.loomwork.Task;
import dev.loomwork.TaskFailedException;
import dev.loomwork.TaskState;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The state behind a {@link Task} handle.
 *
 * <p>Life: {@code NEW} while the caller configures it (configuration fields are plain, written by
 * that thread only); {@link QueueEngine#accept} freezes it by compare-and-set {@code NEW → READY} or
 * {@code NEW → WAITING} under the queue's lock, which also publishes the configuration to every other
 * thread. A task not yet enqueued can be cancelled by the same compare-and-set {@code NEW → CANCELLED},
 * without any lock. After acceptance every transition happens under the queue's lock. The fields the
 * handle reads ({@code state}, {@code attempts}, {@code error}, {@code nextAttemptAt}) are volatile so
 * that reading them needs no lock.
 */
public final class TaskCore<T extends @Nullable Object> {
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
  final Job<T> job;
  private @Nullable String name;
  private @Nullable RetryPolicy policy;
  private int retries = -1;
  private @Nullable Backoff backoff;
  private @Nullable Duration attemptTimeout;
  private @Nullable Duration within;
  private @Nullable Instant notBefore;
  private @Nullable Duration delay;
  private @Nullable Consumer<? super Task<T>> after;

  // ---- fixed at acceptance, under the queue's lock ----
  /** Written before the freezing compare-and-set publishes it (see {@link #cancel()}). */
  @Nullable QueueEngine queue;
  RetryPolicy resolvedPolicy = NO_POLICY_YET;
  /** The task's number in its queue, from 1 in the order of acceptance; 0 until accepted. */
  long id;
  /** Links of the queue's list of running tasks, under the queue's lock. */
  @Nullable TaskCore<?> prevRunning;
  @Nullable TaskCore<?> nextRunning;
  private volatile @Nullable Instant deadline;

  // ---- runtime: written under the queue's lock ----
  private volatile TaskState state = TaskState.NEW;
  volatile int attempts;
  volatile @Nullable Throwable error;
  volatile @Nullable Instant nextAttemptAt;
  @Nullable Attempt current;
  @Nullable Future<?> wakeTimer;
  @Nullable Future<?> deadlineTimer;
  long readyAtNanos;
  boolean cancelRequested;
  boolean cutByShutdown;
  @Nullable Object result;

  /** Completed once, after the after-callback; the handle's {@code await} reads it. */
  final CompletableFuture<T> done = new CompletableFuture<>();

  private volatile @Nullable View<T> view;

  /**
   * Creates the state behind {@code handle}.
   *
   * @param handle the public handle
   * @param job the body
   */
  public TaskCore(Task<T> handle, Job<T> job) {
    this.handle = handle;
    this.job = Objects.requireNonNull(job, "job");
  }

  private static final RetryPolicy NO_POLICY_YET = RetryPolicy.noRetries();

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

  /** Whether accepting this task needs the clock: it has a deadline or a not-before time. */
  boolean needsClock() {
    return within != null || delay != null || notBefore != null;
  }

  /** When the first attempt is due, or null if at once. */
  @Nullable Instant firstDue(Instant now) {
    if (delay != null) {
      return delay.isZero() ? null : now.plus(delay);
    }
    return notBefore != null && notBefore.isAfter(now) ? notBefore : null;
  }

  /** Under the queue's lock, at acceptance: fixes the policy and the deadline. */
  void resolve(RetryPolicy queueDefault, @Nullable Instant now) {
    RetryPolicy p = policy != null ? policy : queueDefault;
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
      deadline = now.plus(within);
    }
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

  // ---- the handle's view ----

  /** The configured name, or {@code task-N} by the order of acceptance (formatted when asked). */
  public String name() {
    String n = name;
    if (n != null) {
      return n;
    }
    // Read the state first: the volatile read that makes the id written before freezing visible.
    return state == TaskState.NEW || id == 0 ? "task-unqueued" : "task-" + id;
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
        QueueEngine.completeUnqueued(this);
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
    try {
      return done.get();
    } catch (ExecutionException e) {
      throw failed(e);
    }
  }

  public T await(Duration timeout) throws InterruptedException, TimeoutException {
    Objects.requireNonNull(timeout, "timeout");
    try {
      return done.get(Math.max(0, saturatedNanos(timeout)), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw failed(e);
    }
  }

  private RuntimeException failed(ExecutionException e) {
    Throwable cause = e.getCause();
    if (cause instanceof CancellationException c) {
      return c;
    }
    return new TaskFailedException(name(), attempts, cause == null ? e : cause);
  }

  static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  public CompletableFuture<T> future() {
    View<T> v = view;
    if (v == null) {
      synchronized (this) {
        v = view;
        if (v == null) {
          View<T> created = new View<>(this);
          done.whenComplete(
              (value, failure) -> {
                if (failure == null) {
                  created.complete(value);
                } else {
                  created.completeExceptionally(unwrap(failure));
                }
              });
          view = v = created;
        }
      }
    }
    return v;
  }

  private static Throwable unwrap(Throwable failure) {
    return failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
        ? failure.getCause()
        : failure;
  }

  @Override
  public String toString() {
    return "Task[name=" + name() + ", state=" + state + ", attempts=" + attempts + "]";
  }

  /**
   * The {@code CompletableFuture} a caller gets. Completing it by hand affects only this view, never
   * the task; cancelling it cancels the task.
   */
  private static final class View<T extends @Nullable Object> extends CompletableFuture<T> {
    private final TaskCore<T> task;

    View(TaskCore<T> task) {
      this.task = task;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = task.cancel();
      return cancelled || isCancelled();
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
      return new CompletableFuture<>();
    }

    @Override
    public String toString() {
      return "TaskFuture[" + task + "]";
    }
  }
}
