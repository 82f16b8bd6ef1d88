package dev.loomwork;

import dev.loomwork.internal.Access;
import dev.loomwork.internal.TaskCore;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One unit of work: configured fluently, enqueued once, then a handle on its progress and result.
 *
 * <pre>{@code
 * Task<String> task = Task.ofJob(ctx -> deliver(webhook))
 *     .named("webhook-42")
 *     .retries(5)
 *     .backoff(Backoff.exponential(Duration.ofMillis(200), Duration.ofMinutes(1)))
 *     .attemptTimeout(Duration.ofSeconds(10))
 *     .within(Duration.ofMinutes(15))
 *     .after(t -> audit(t.state()));
 * queue.enqueue(task);
 * String receipt = task.await();
 * }</pre>
 *
 * <p><b>Configuration.</b> The configuring methods return this task and may be called only before
 * it is enqueued, from the thread that configures it; afterwards they throw {@link
 * IllegalStateException}. Settings not made here come from the queue's default {@link RetryPolicy}.
 *
 * <p><b>Handle.</b> The reading methods, {@link #await()}, {@link #future()} and {@link #cancel()} are
 * thread-safe and may be called from any thread at any time.
 *
 * @param <T> the result type; {@code Void} (with a null result) for a {@link Work}
 */
public final class Task<T extends @Nullable Object> {
  private final TaskCore<T> core;

  static {
    Access.tasks(
        new Access.Tasks() {
          @Override
          public TaskCore<?> core(Task<?> task) {
            return task.core;
          }

          @Override
          public Task<?> restored(String handler, String payloadJson, String id) {
            return Task.restored(handler, payloadJson, id);
          }
        });
  }

  private Task(Job<T> job) {
    this.core = new TaskCore<>(this, job);
  }

  private Task(TaskType<?> type, @Nullable Object payload) {
    this.core = new TaskCore<>(this, type, payload);
  }

  private Task(String handler, String payloadJson, String id) {
    this.core = new TaskCore<>(this, handler, payloadJson, id);
  }

  /**
   * Creates a task whose body returns nothing.
   *
   * @param work the body
   * @return a new task, not yet enqueued
   * @throws NullPointerException if {@code work} is null
   */
  public static Task<@Nullable Void> of(Work work) {
    Objects.requireNonNull(work, "work");
    return new Task<@Nullable Void>(
        context -> {
          work.run(context);
          return null;
        });
  }

  /**
   * Creates a task whose body returns a result.
   *
   * @param job the body
   * @param <T> the result type
   * @return a new task, not yet enqueued
   * @throws NullPointerException if {@code job} is null
   */
  public static <T extends @Nullable Object> Task<T> ofJob(Job<T> job) {
    Objects.requireNonNull(job, "job");
    return new Task<>(job);
  }

  /**
   * Creates a typed task: a payload for the handler of {@code type}, which the queue it is enqueued
   * on must have registered ({@link WorkQueue.Builder#handle}). Unlike a closure it can be written
   * down: a {@link ShutdownReport} carries its handler and payload, and {@link WorkQueue#requeue}
   * reads it back. The payload is encoded when the task is enqueued. It takes every setting a
   * closure takes; those it does not set come from the type, then from the queue.
   *
   * @param type the task's type
   * @param payload its payload; null only if the type's codec encodes null
   * @param <P> the payload type
   * @return a new task, not yet enqueued
   * @throws NullPointerException if {@code type} is null
   */
  public static <P extends @Nullable Object> Task<@Nullable Void> of(TaskType<P> type, P payload) {
    Objects.requireNonNull(type, "type");
    return new Task<@Nullable Void>(type, payload);
  }

  /** A typed task read back from a report, keeping its id. */
  static Task<@Nullable Void> restored(String handler, String payloadJson, String id) {
    return new Task<@Nullable Void>(handler, payloadJson, id);
  }

  TaskCore<T> core() {
    return core;
  }

  // ---- configuration ----

  /**
   * Names the task, for logs and reports. The default is {@code task-N}, where N counts the tasks
   * its queue accepted, from 1 (and {@code task-unqueued} before it is enqueued).
   *
   * @param name not blank
   * @return this task
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if {@code name} is blank
   * @throws IllegalStateException if the task was already enqueued
   */
  public Task<T> named(String name) {
    core.name(name);
    return this;
  }

  /**
   * Sets the whole retry policy, instead of the queue's default. {@link #retries(int)}, {@link
   * #backoff(Backoff)} and {@link #attemptTimeout(Duration)} override its parts, in whatever order
   * they are called.
   *
   * @param policy the policy
   * @return this task
   * @throws NullPointerException if {@code policy} is null
   * @throws IllegalStateException if the task was already enqueued
   */
  public Task<T> retryPolicy(RetryPolicy policy) {
    core.retryPolicy(policy);
    return this;
  }

  /**
   * Sets how many times the task is retried after its first attempt: at most {@code retries + 1}
   * attempts. {@code retries(0)} runs it once.
   *
   * @param retries at least zero
   * @return this task
   * @throws IllegalArgumentException if {@code retries} is negative
   * @throws IllegalStateException if the task was already enqueued
   */
  public Task<T> retries(int retries) {
    core.retries(retries);
    return this;
  }

  /**
   * Sets the delay before each retry.
   *
   * @param backoff the backoff
   * @return this task
   * @throws NullPointerException if {@code backoff} is null
   * @throws IllegalStateException if the task was already enqueued
   */
  public Task<T> backoff(Backoff backoff) {
    core.backoff(backoff);
    return this;
  }

  /**
   * Sets the longest one attempt may run. Past it the attempt's scope is cancelled, the body
   * interrupted, and the attempt fails with an {@link AttemptTimeoutException}, which is retried
   * like any failure.
   *
   * @param timeout positive
   * @return this task
   * @throws NullPointerException if {@code timeout} is null
   * @throws IllegalArgumentException if {@code timeout} is not positive
   * @throws IllegalStateException if the task was already enqueued
   */
  public Task<T> attemptTimeout(Duration timeout) {
    core.attemptTimeout(timeout);
    return this;
  }

  /**
   * Sets an overall deadline, counted from when the task is enqueued: no attempt starts after it, a
   * running attempt is cut at it, and the task then fails with a {@link DeadlineExceededException}.
   * A deadline beyond the last {@link Instant} the JDK can represent is no deadline.
   *
   * @param within positive
   * @return this task
   * @throws NullPointerException if {@code within} is null
   * @throws IllegalArgumentException if {@code within} is not positive
   * @throws IllegalStateException if the task was already enqueued
   */
  public Task<T> within(Duration within) {
    core.within(within);
    return this;
  }

  /**
   * Holds the first attempt until {@code time}, by the queue's clock. The task waits in the queue's
   * scheduler, not in a sleeping thread. Replaces an earlier {@link #delay(Duration)}.
   *
   * @param time the earliest start; a time in the past means at once
   * @return this task
   * @throws NullPointerException if {@code time} is null
   * @throws IllegalStateException if the task was already enqueued
   */
  public Task<T> notBefore(Instant time) {
    core.notBefore(time);
    return this;
  }

  /**
   * Holds the first attempt for {@code delay} after the task is enqueued. Replaces an earlier {@link
   * #notBefore(Instant)}.
   *
   * @param delay at least zero
   * @return this task
   * @throws NullPointerException if {@code delay} is null
   * @throws IllegalArgumentException if {@code delay} is negative
   * @throws IllegalStateException if the task was already enqueued
   */
  public Task<T> delay(Duration delay) {
    core.delay(delay);
    return this;
  }

  /**
   * Sets a callback that runs exactly once, when the task reaches its terminal state, before {@link
   * #await()} returns and before {@link #future()} completes. It runs on the thread that completed
   * the task. An exception from it is logged and changes nothing.
   *
   * @param callback receives this task
   * @return this task
   * @throws NullPointerException if {@code callback} is null
   * @throws IllegalStateException if the task was already enqueued
   */
  public Task<T> after(Consumer<? super Task<T>> callback) {
    core.after(callback);
    return this;
  }

  // ---- handle ----

  /**
   * Returns the task's name.
   *
   * @return the name
   */
  public String name() {
    return core.name();
  }

  /**
   * Returns the task's stable id, the same as {@link TaskContext#taskId()} in its body and as the
   * {@code id} of its line in a shutdown report: fixed when the task is enqueued (or kept from the
   * report it was re-queued from).
   *
   * @return the id, or null if the task was never enqueued
   */
  public @Nullable String id() {
    return core.idOrNull();
  }

  /**
   * Returns the task's current state.
   *
   * @return the state
   */
  public TaskState state() {
    return core.state();
  }

  /**
   * Tells whether the task reached a terminal state.
   *
   * @return true if succeeded, failed or cancelled
   */
  public boolean isDone() {
    return core.state().isTerminal();
  }

  /**
   * Returns how many attempts have started.
   *
   * @return the number of attempts, from 0
   */
  public int attempts() {
    return core.attempts();
  }

  /**
   * Returns the task's last failure: for a failed task, the failure that ended it (the real failure,
   * not a wrapper; a {@link DeadlineExceededException} or {@link AttemptTimeoutException} when those
   * ended it); for a task still retrying, the failure of its last attempt.
   *
   * @return the last failure, or null if no attempt has failed
   */
  public @Nullable Throwable error() {
    return core.error();
  }

  /**
   * Returns when the task's next attempt is due, while it waits for its not-before time or a backoff.
   *
   * @return the time, or null if the task is not waiting
   */
  public @Nullable Instant nextAttemptAt() {
    return core.nextAttemptAt();
  }

  /**
   * Waits for the task to finish and returns its result.
   *
   * @return the result
   * @throws TaskFailedException if the task failed; its cause is {@link #error()}
   * @throws CancellationException if the task was cancelled
   * @throws InterruptedException if interrupted while waiting
   */
  public T await() throws InterruptedException {
    return core.await();
  }

  /**
   * Waits at most {@code timeout} for the task to finish and returns its result.
   *
   * @param timeout how long to wait
   * @return the result
   * @throws TaskFailedException if the task failed; its cause is {@link #error()}
   * @throws CancellationException if the task was cancelled
   * @throws InterruptedException if interrupted while waiting
   * @throws TimeoutException if the task did not finish in time
   * @throws NullPointerException if {@code timeout} is null
   */
  public T await(Duration timeout) throws InterruptedException, TimeoutException {
    return core.await(timeout);
  }

  /**
   * Returns a {@link CompletableFuture} view of the result. It completes with the result, exceptionally
   * with {@link #error()} itself, or, for a cancelled task only, as cancelled: a task that failed with
   * a {@link CancellationException} (its body threw one) completes it exceptionally with a {@link
   * java.util.concurrent.CompletionException} whose cause is that error, so that it never looks
   * cancelled ({@code isCancelled()} is false, {@code exceptionNow()} is the error, {@code get()}
   * throws it as the cause). Cancelling it cancels the task (see {@link
   * #cancel()}): when {@code cancel} returns true the view is done and cancelled at once, even while
   * an interrupted attempt is still winding down, and the task ends cancelled; it returns false for a
   * task that had already ended. Completing the view by hand affects only the view. The same view is
   * returned every time.
   *
   * @return the view
   */
  public CompletableFuture<T> future() {
    return core.future();
  }

  /**
   * Cancels the task. A task that is pending or waiting out a backoff (or not yet enqueued) is
   * cancelled at once and never runs. A running task has its attempt interrupted (its scope is
   * cancelled) and is not retried; it becomes cancelled when the attempt ends, even if the attempt
   * returned normally just before the cancel. A finished task is left alone.
   *
   * @return true if this call cancelled the task, or will have cancelled it when its running attempt
   *     ends; false if the task had already ended, or was already asked to stop
   */
  public boolean cancel() {
    return core.cancel();
  }

  @Override
  public String toString() {
    return core.toString();
  }
}
