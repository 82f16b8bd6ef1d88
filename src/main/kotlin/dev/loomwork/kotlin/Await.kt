package dev.loomwork.kotlin

import dev.loomwork.Task
import dev.loomwork.TaskFailedException
import dev.loomwork.TaskState
import java.util.concurrent.CompletableFuture
import java.util.concurrent.Future
import java.util.function.BiConsumer
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.suspendCancellableCoroutine

/**
 * Suspends until the task has ended and returns its result, blocking no thread: the coroutine
 * counterpart of the blocking member [Task.await] (a member always wins over an extension of the same
 * name, so this one has another).
 *
 * - The task failed: throws [TaskFailedException], whose cause is [Task.error], as [Task.await] does.
 * - The task was cancelled: throws [TaskCancelledException], which is not a `CancellationException`,
 *   so it is never mistaken for the cancellation of the waiting coroutine, and `launch` does not
 *   swallow it.
 * - The waiting coroutine is cancelled (or a `withTimeout` around it expires): throws its
 *   `CancellationException` and leaves the task alone, unless [cancelTaskOnCancel] is true; then it
 *   also cancels the task, as `task.future().await()` would.
 *
 * Thread-safe; any number of coroutines may wait for one task. From a coroutine, always call this,
 * never the blocking [Task.await], which holds the dispatcher's thread until the task ends (Kotlin
 * cannot mark that Java member, so nothing warns).
 *
 * Under `runTest`, a `withTimeout` around this fires at once in virtual time while the task runs in
 * real time: put the timeout on a real dispatcher, `withContext(Dispatchers.Default) { withTimeout(d)
 * { task.awaitSuspending() } }`.
 *
 * @param cancelTaskOnCancel whether cancelling the wait cancels the task too; false by default
 * @return the task's result
 * @throws TaskFailedException if the task failed
 * @throws TaskCancelledException if the task was cancelled
 */
public suspend fun <T> Task<T>.awaitSuspending(cancelTaskOnCancel: Boolean = false): T {
  val future = future()
  if (future.isDone) return outcome(future)
  try {
    return suspendCancellableCoroutine { continuation ->
      val resumer = Resumer(this, future, continuation)
      future.whenComplete(resumer)
      continuation.invokeOnCancellation { resumer.forget() }
    }
  } catch (e: CancellationException) {
    // Only the waiter's own cancellation arrives here: a cancelled task resumes it with a
    // TaskCancelledException.
    if (cancelTaskOnCancel) cancel()
    throw e
  }
}

/**
 * Thrown by [awaitSuspending] when the task was cancelled: by [Task.cancel], its future's `cancel`, a
 * shutdown, or the end of the scope that ran its queue. Deliberately not a `CancellationException`:
 * the coroutine that waited was not cancelled, the task was.
 *
 * @property taskName the task's name
 * @property taskId the task's stable id, or null if it was cancelled before it was enqueued
 */
public class TaskCancelledException(public val taskName: String, public val taskId: String?) :
    RuntimeException("task '$taskName' was cancelled")

/** Resumes a waiter once; holds it only until it is resumed or cancelled. */
private class Resumer<T>(
    private val task: Task<T>,
    private val future: CompletableFuture<T>,
    continuation: CancellableContinuation<T>,
) : BiConsumer<T?, Throwable?> {
  @Volatile private var continuation: CancellableContinuation<T>? = continuation

  fun forget() {
    continuation = null
  }

  override fun accept(value: T?, failure: Throwable?) {
    val waiter = continuation ?: return
    continuation = null
    waiter.resumeWith(runCatching { task.outcome(future) })
  }
}

/** The result of a task whose future is done, or the exception [awaitSuspending] throws. */
private fun <T> Task<T>.outcome(future: CompletableFuture<T>): T =
    when (future.state()) {
      Future.State.SUCCESS -> future.resultNow()
      // The future fails with the task's error itself; someone may also have completed the view.
      Future.State.FAILED -> throw TaskFailedException(name(), attempts(), future.exceptionNow())
      // A failed task whose error is a CancellationException looks cancelled to its future: the
      // task's state tells them apart.
      Future.State.CANCELLED ->
          if (state() == TaskState.FAILED) {
            throw TaskFailedException(name(), attempts(), error() ?: java.util.concurrent.CancellationException())
          } else {
            throw TaskCancelledException(name(), id())
          }
      Future.State.RUNNING, null -> throw IllegalStateException("task '${name()}': its future is not done")
    }
