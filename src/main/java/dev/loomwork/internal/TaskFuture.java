package dev.loomwork.internal;

import dev.loomwork.TaskFailedException;
import dev.loomwork.TaskState;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * A task's completion: completed once by the engine, after the after-callback, by the task's terminal
 * state; {@code Task.await} and the public {@code CompletableFuture} view read it. Internal: users
 * only ever get the view, so nobody but the engine completes this one.
 *
 * <p>A cancelled task completes it with a {@link CancellationException} that has no stack trace and
 * formats its message only if asked: a shutdown that cancels a million tasks from a deep stack must
 * not keep a million stack traces. {@code await} throws a fresh one, with the waiter's stack.
 *
 * <p>Only a cancelled task's future is cancelled: a task that failed with a {@code
 * CancellationException} (its body threw one) completes it with a {@link CompletionException} around
 * that error, so {@code isCancelled()} is false, {@code state()} is {@code FAILED}, {@code
 * exceptionNow()} and {@code get()}'s cause are the error itself.
 */
final class TaskFuture<T extends @Nullable Object> extends CompletableFuture<T> {
  private final TaskCore<T> task;
  private volatile @Nullable View<T> view;

  TaskFuture(TaskCore<T> task) {
    this.task = task;
  }

  /** Completes by the terminal {@code state}: the result, the error, or a cancellation. */
  void finish(TaskState state, @Nullable T result, @Nullable Throwable error) {
    switch (state) {
      case SUCCEEDED -> complete(result);
      // A CancellationException stored as it is would make the future look cancelled (isCancelled,
      // state()): a failed task's future fails, wrapped so that get() still throws it as the cause.
      case FAILED ->
          completeExceptionally(
              error instanceof CancellationException
                  ? new CompletionException(error)
                  : Objects.requireNonNull(error));
      default -> completeExceptionally(new Cancelled(task));
    }
  }

  T await() throws InterruptedException {
    try {
      return get();
    } catch (ExecutionException e) {
      throw failed(e);
    } catch (CancellationException e) {
      throw cancelled();
    }
  }

  T await(Duration timeout) throws InterruptedException, TimeoutException {
    Objects.requireNonNull(timeout, "timeout");
    try {
      return get(Math.max(0, Timers.nanos(timeout)), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw failed(e);
    } catch (CancellationException e) {
      throw cancelled();
    }
  }

  private RuntimeException failed(ExecutionException e) {
    Throwable cause = e.getCause();
    return new TaskFailedException(task.name(), task.attempts(), cause == null ? e : cause);
  }

  /** A cancellation with the waiter's stack trace. */
  private CancellationException cancelled() {
    return new CancellationException("task '" + task.name() + "' was cancelled");
  }

  /** The view a caller gets, made on first use. */
  CompletableFuture<T> view() {
    View<T> v = view;
    if (v == null) {
      synchronized (this) {
        v = view;
        if (v == null) {
          View<T> created = new View<>(task);
          whenComplete(
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

  /** The failure the view completes with: a task's own error, but a failed task never looks cancelled. */
  private static Throwable unwrap(Throwable failure) {
    Throwable cause = failure.getCause();
    return failure instanceof CompletionException
            && cause != null
            && !(cause instanceof CancellationException)
        ? cause
        : failure;
  }

  @Override
  public <U> CompletableFuture<U> newIncompleteFuture() {
    return new CompletableFuture<>();
  }

  /** The cancellation of a task: no stack trace, and its message formatted only if read. */
  private static final class Cancelled extends CancellationException {
    private static final long serialVersionUID = 1L;
    private final transient TaskCore<?> task;

    Cancelled(TaskCore<?> task) {
      this.task = task;
    }

    @Override
    public String getMessage() {
      return "task '" + task.name() + "' was cancelled";
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }

  /**
   * The {@code CompletableFuture} a caller gets. Completing it by hand affects only this view, never
   * the task; cancelling it cancels the task. A cancel that the task accepts completes the view as
   * cancelled at once, as {@link java.util.concurrent.Future#cancel} promises, even while the
   * interrupted attempt is still winding down; the task then ends {@code CANCELLED}.
   */
  private static final class View<T extends @Nullable Object> extends CompletableFuture<T> {
    private final TaskCore<T> task;

    View(TaskCore<T> task) {
      this.task = task;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      if (task.cancel()) {
        super.completeExceptionally(new Cancelled(task));
        return true;
      }
      return isCancelled();
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
