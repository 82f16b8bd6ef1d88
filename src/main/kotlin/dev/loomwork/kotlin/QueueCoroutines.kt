package dev.loomwork.kotlin

import dev.loomwork.ShutdownReport
import dev.loomwork.Task
import dev.loomwork.WorkQueue
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.coroutines.CoroutineContext
import kotlin.time.Duration
import kotlin.time.toJavaDuration
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.async
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
 * - Cancelling the returned job, or [scope], cancels every pending task and interrupts every running
 *   attempt, as interrupting [WorkQueue.run] does; the job completes once those attempts have ended.
 *   This holds whenever the cancellation comes, even before the queue's owner thread started: then
 *   the queue is stopped without ever running a task. No task is left `READY` either way.
 * - A shutdown (for example [shutdownSuspending]) ends the queue gracefully; the job then completes
 *   normally.
 *
 * Tasks may be enqueued before or after; the returned job is a child of [scope], so a scope such as
 * `coroutineScope { }` waits for the queue to terminate. Like every function here, it may be called
 * from any thread.
 *
 * @param scope the scope whose life bounds the queue's
 * @return the job that runs the queue
 * @throws IllegalStateException in the job, if the queue was already started or run
 */
public fun WorkQueue.launchIn(scope: CoroutineScope): Job =
    // UNDISPATCHED: the body starts now, even if the scope is cancelled already, so the queue is
    // either run or stopped; a job cancelled before its body started would leave every task READY.
    scope.launch(CoroutineName("loomwork queue '${name()}'"), start = CoroutineStart.UNDISPATCHED) {
      val started = AtomicBoolean()
      try {
        runInterruptible(VirtualThreads) {
          started.set(true)
          this@launchIn.run() // an interrupt (the cancellation) cancels every task and returns
        }
      } finally {
        if (!started.get()) {
          // Cancelled before run() began: stop the queue so that no task waits forever.
          withContext(NonCancellable) { runInterruptible(VirtualThreads) { this@launchIn.shutdownNow() } }
        }
      }
    }

/**
 * Enqueues a configured task, suspending without blocking a thread while the ready queue is full:
 * the coroutine counterpart of the blocking [WorkQueue.enqueue]. If the coroutine is cancelled while
 * it waits, the task is not accepted and the cancellation is thrown.
 *
 * The wait happens on a virtual thread of its own, so each call costs a thread hop; from code that is
 * not a coroutine, call [WorkQueue.enqueue].
 *
 * @param task a task that was never enqueued
 * @return [task], for chaining
 * @throws IllegalStateException if the task was already enqueued or was cancelled
 * @throws RejectedExecutionException if the queue is shut down
 */
public suspend fun <T> WorkQueue.enqueueSuspending(task: Task<T>): Task<T> {
  try {
    return runInterruptible(VirtualThreads) { enqueue(task) }
  } catch (e: RejectedExecutionException) {
    currentCoroutineContext().ensureActive() // refused because the wait was interrupted: cancelled
    throw e
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
  private val factory = Thread.ofVirtual().name("loomwork-kotlin-", 1).factory()

  override fun dispatch(context: CoroutineContext, block: Runnable) {
    factory.newThread(block).start()
  }

  override fun toString(): String = "loomwork virtual threads"
}
