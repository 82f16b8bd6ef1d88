package dev.loomwork.kotlin

import dev.loomwork.ShutdownReport
import dev.loomwork.Task
import dev.loomwork.TaskType
import dev.loomwork.WorkQueue
import dev.loomwork.internal.Access
import java.util.concurrent.RejectedExecutionException
import kotlin.coroutines.resume
import kotlin.coroutines.suspendCoroutine
import kotlin.coroutines.CoroutineContext
import kotlin.time.Duration
import kotlin.time.toJavaDuration
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.runInterruptible
import kotlinx.coroutines.withContext

/**
 * Runs the queue for as long as [scope] lives: the coroutine counterpart of [WorkQueue.run], safe to
 * cancel at any moment. The queue must not have been started. Its owner loop ([WorkQueue.run]) runs
 * on a virtual thread of its own, not on a thread of the scope's dispatcher.
 *
 * The queue is owned by the returned job from the moment this function returns: a shutdown called
 * right afterwards (for example [shutdownSuspending]) finds it running, drains it, and the job then
 * completes normally; it never starts the queue on its own thread.
 *
 * - Cancelling the returned job, or [scope], cancels every pending task and interrupts every running
 *   attempt, as interrupting [WorkQueue.run] does; the job completes once those attempts have ended.
 *   This holds whenever the cancellation comes, even before this function was called (a cancelled
 *   [scope]): then the queue is stopped without ever running a task. No task is left `READY` either
 *   way.
 * - A shutdown (for example [shutdownSuspending]) ends the queue gracefully; the job then completes
 *   normally.
 *
 * Tasks may be enqueued before or after; the returned job is a child of [scope], so a scope such as
 * `coroutineScope { }` waits for the queue to terminate: in `runTest`, launch it in `backgroundScope`
 * (or shut the queue down before the test body ends), or the test waits for its own timeout. Like
 * every function here, it may be called from any thread.
 *
 * @param scope the scope whose life bounds the queue's
 * @return the job that runs the queue
 * @throws IllegalStateException in the job, if the queue was already started or run
 */
public fun WorkQueue.launchIn(scope: CoroutineScope): Job =
    // UNDISPATCHED: the body runs now, up to its first suspension, even if the scope is cancelled
    // already. So ownership is claimed before launchIn returns (a shutdown called next finds the queue
    // owned and waits for this job's owner loop instead of starting one of its own), and the owner
    // thread is started: a job cancelled before its body ran would leave every task READY.
    scope.launch(CoroutineName("loomwork queue '${name()}'"), start = CoroutineStart.UNDISPATCHED) {
      val owner = Access.engine(this@launchIn).becomeOwner() // throws if already started or run
      val ended = CompletableDeferred<Unit>()
      val thread =
          VirtualThreads.factory.newThread {
            try {
              owner.run() // an interrupt (the cancellation) cancels every task and returns
            } finally {
              ended.complete(Unit)
            }
          }
      thread.start()
      try {
        ended.await()
      } catch (e: CancellationException) {
        // The job was cancelled: interrupting the owner is how WorkQueue.run is cancelled. An
        // interrupt that lands after run() returned only sets the flag of a thread that is ending.
        thread.interrupt()
        withContext(NonCancellable) { ended.await() } // the job ends once the attempts have ended
        throw e
      }
    }

/**
 * Enqueues a configured task, suspending without blocking a thread while the ready queue is full:
 * the coroutine counterpart of the blocking [WorkQueue.enqueue].
 *
 * When the queue has room, the task is accepted on the calling thread, with no dispatch and no
 * suspension, at about the cost of [WorkQueue.enqueue]. Only a full queue suspends the caller, until
 * there is room.
 *
 * Cancellation is decided in one place, so that the outcome is always one of two, never a mix:
 * - It returns [task]: the task was accepted, and the caller holds its handle. This can happen to a
 *   coroutine cancelled while it waited, if room came first; the cancellation is then thrown at its
 *   next suspension point.
 * - It throws the coroutine's `CancellationException` (or another exception): the task was not
 *   accepted, and stays `NEW`. A coroutine already cancelled when it calls this gets its
 *   cancellation at once.
 *
 * A coroutine that gives up waiting for room is not a refusal: it is counted nowhere
 * ([dev.loomwork.QueueStats.rejected] and the `rejected` metric leave it out) and no listener hears
 * of it.
 *
 * @param task a task that was never enqueued
 * @return [task], for chaining; it was accepted
 * @throws IllegalStateException if the task was already enqueued or was cancelled
 * @throws RejectedExecutionException if the queue is shut down
 * @throws UnsupportedOperationException if the queue is durable (enqueue with its store instead)
 */
public suspend fun <T> WorkQueue.enqueueSuspending(task: Task<T>): Task<T> {
  currentCoroutineContext().ensureActive()
  if (Access.engine(this).enqueueIfRoom(Access.core(task))) return task // the fast path: no dispatch
  return enqueueWhenRoom(task)
}

/**
 * The slow path of [enqueueSuspending]: the queue was full. A virtual thread waits in the blocking
 * [WorkQueue.enqueue]; the coroutine suspends until that call has returned or thrown, and takes its
 * outcome as it is.
 *
 * The hand-off: the only decision is the one [WorkQueue.enqueue] makes under the queue's lock (accepted,
 * or interrupted while waiting). The coroutine's suspension is not cancellable, so a cancellation
 * cannot resume the caller before that decision; instead a child coroutine that waits for the
 * cancellation interrupts the waiting thread ([RoomWait.cancel]). Whichever comes first under the
 * queue's lock wins: room (the task is accepted and returned) or the interrupt (the task stays `NEW`
 * and the cancellation is thrown). No accepted task is ever left without its handle, and no task is
 * withdrawn after it was accepted.
 */
private suspend fun <T> WorkQueue.enqueueWhenRoom(task: Task<T>): Task<T> {
  val context = currentCoroutineContext()
  val wait = RoomWait()
  // A child of the caller's job: cancelling the caller cancels it, and its finally interrupts the
  // wait. It is ended once the outcome is known, and then interrupts nothing (the wait has exited).
  val watcher =
      context[Job]?.let { job ->
        CoroutineScope(context + job).launch(start = CoroutineStart.UNDISPATCHED) {
          try {
            awaitCancellation()
          } finally {
            wait.cancel()
          }
        }
      }
  val outcome =
      try {
        suspendCoroutine { continuation ->
          VirtualThreads.factory
              .newThread {
                val result =
                    if (wait.enter()) {
                      try {
                        runCatching { enqueue(task) }
                      } finally {
                        wait.exit()
                      }
                    } else {
                      null // cancelled before the wait began: nothing was tried
                    }
                continuation.resume(result)
              }
              .start()
        }
      } finally {
        watcher?.cancel()
      }
  if (outcome != null) {
    val failure = outcome.exceptionOrNull() ?: return task // accepted: the caller gets its handle
    if (!(failure is RejectedExecutionException && failure.cause is InterruptedException)) throw failure
  }
  // Not accepted because the wait was cancelled, which only the caller's cancellation does.
  context.ensureActive()
  throw CancellationException("enqueue of task '${task.name()}' was cancelled while waiting for room")
}

/**
 * The waiting thread of one [enqueueWhenRoom], and whether it may still be interrupted. Guarded by
 * its monitor: an interrupt lands only between [enter] and [exit], so that it can only cut the wait
 * inside [WorkQueue.enqueue], never something after it.
 */
private class RoomWait {
  private var thread: Thread? = null // guarded by this
  private var cancelled = false // guarded by this

  /** On the waiting thread: false if the wait was cancelled before it began. */
  @Synchronized
  fun enter(): Boolean {
    if (cancelled) return false
    thread = Thread.currentThread()
    return true
  }

  /** On the waiting thread, once [WorkQueue.enqueue] returned or threw: no interrupt comes after. */
  fun exit() {
    synchronized(this) { thread = null }
    Thread.interrupted() // an interrupt of ours that came after the decision: the thread is ending
  }

  /** The caller was cancelled: interrupts the wait if it is under way, or stops it from beginning. */
  @Synchronized
  fun cancel() {
    cancelled = true
    thread?.interrupt()
  }
}

/**
 * Enqueues a typed task of [type] with [payload], suspending without blocking a thread while the
 * ready queue is full: the coroutine counterpart of [WorkQueue.submit] with a type. Accepted or not
 * exactly as [enqueueSuspending] says.
 *
 * @param type the task type; this queue must have a handler for it
 * @param payload its payload, encoded with the type's codec on the calling thread
 * @return the task's handle; it was accepted
 * @throws IllegalArgumentException if this queue has no handler for [type]
 * @throws RejectedExecutionException if the queue is shut down
 * @throws RuntimeException whatever the type's codec throws while encoding [payload]; nothing is then
 *   accepted
 */
public suspend fun <P> WorkQueue.submitSuspending(type: TaskType<P>, payload: P): Task<Void?> =
    enqueueSuspending(Task.of(type, payload))

/**
 * Runs [block] with this queue, then shuts the queue down and suspends until it has terminated: the
 * coroutine counterpart of `queue.use { }` (which blocks in [WorkQueue.close]). It does not start the
 * queue.
 *
 * - [block] returned or threw: the queue drains, as [shutdownSuspending] does (a failure of [block]
 *   is thrown once the queue has terminated).
 * - The coroutine was cancelled: what is left is cancelled at once, as by [WorkQueue.shutdownNow],
 *   and the cancellation is thrown once that is done.
 *
 * @param block what to do with the queue
 * @return what [block] returned
 */
public suspend inline fun <R> WorkQueue.useSuspending(block: (WorkQueue) -> R): R {
  val result =
      try {
        block(this)
      } catch (e: Throwable) {
        closeAfterFailure(e)
        throw e
      }
  shutdownSuspending()
  return result
}

/** The end of [useSuspending] whose block threw [failure]: drains, or stops at once if cancelled. */
@PublishedApi
internal suspend fun WorkQueue.closeAfterFailure(failure: Throwable) {
  try {
    if (failure is CancellationException) {
      withContext(NonCancellable) { runInterruptible(VirtualThreads) { shutdownNow() } }
    } else {
      shutdownSuspending()
    }
  } catch (e: Throwable) {
    if (e !== failure) failure.addSuppressed(e)
  }
}

/**
 * Shuts the queue down and suspends until it has terminated, blocking no thread: the coroutine
 * counterpart of [WorkQueue.shutdown], [WorkQueue.shutdown] with a timeout, [WorkQueue.shutdownNow]
 * and [WorkQueue.close].
 *
 * Stops accepting tasks and drains until [timeout]; then cancels what is pending, interrupts what is
 * running, waits up to the queue's `abandonAfter` for those attempts, and reports. The default,
 * [Duration.INFINITE], drains everything; a zero or negative timeout cancels at once. If the calling
 * coroutine is cancelled meanwhile, what is left is cancelled at once, as by
 * [WorkQueue.shutdownNow], and the coroutine's cancellation is thrown once that is done.
 *
 * Do not call it from a task of this queue with an infinite timeout: it would wait for itself.
 *
 * @param timeout how long to drain
 * @return what was cancelled and abandoned; [ShutdownReport.drained] if nothing was
 */
public suspend fun WorkQueue.shutdownSuspending(timeout: Duration = Duration.INFINITE): ShutdownReport =
    runInterruptible(VirtualThreads) { shutdown(timeout.toJavaDuration()) }

/**
 * Shuts several queues down in parallel, under one deadline, as [shutdownSuspending] does each: the
 * coroutine counterpart of [WorkQueue.join].
 *
 * @param timeout how long to drain, for all of them together
 * @return one report per queue, in iteration order
 */
public suspend fun Iterable<WorkQueue>.shutdownSuspending(timeout: Duration = Duration.INFINITE): List<ShutdownReport> =
    coroutineScope { map { queue -> async { queue.shutdownSuspending(timeout) } }.awaitAll() }

/**
 * Runs blocking calls of the queue (its owner loop, shutdowns, a full enqueue) on a new virtual thread
 * each, so that waiting holds no platform thread; `runInterruptible` interrupts that thread on
 * cancellation, which is how every blocking call of the queue is cancelled.
 */
internal object VirtualThreads : CoroutineDispatcher() {
  val factory: java.util.concurrent.ThreadFactory = Thread.ofVirtual().name("loomwork-kotlin-", 1).factory()

  override fun dispatch(context: CoroutineContext, block: Runnable) {
    factory.newThread(block).start()
  }

  override fun toString(): String = "loomwork virtual threads"
}
