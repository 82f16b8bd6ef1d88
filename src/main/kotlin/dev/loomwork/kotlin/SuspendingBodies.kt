package dev.loomwork.kotlin

import dev.loomwork.Task
import dev.loomwork.TaskContext
import dev.loomwork.TaskHandler
import dev.loomwork.TaskType
import dev.loomwork.WorkQueue
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.atomic.AtomicReference
import kotlin.coroutines.CoroutineContext
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch

/**
 * Creates a task whose body is a suspend function; configure it as any [Task], then enqueue it.
 *
 * Each attempt runs [body] as a coroutine on the attempt's own thread (a virtual thread of the
 * queue), inside a [CoroutineScope] whose children are the attempt's: what the body launches, on any
 * dispatcher, belongs to the attempt. The coroutine context carries the attempt's [TaskContext]
 * ([taskContext], [TaskContextElement]) into every dispatcher.
 *
 * Cutting the attempt (its timeout, the task's deadline, [Task.cancel], a shutdown) cancels the
 * coroutine and everything it launched, and the attempt ends only once the coroutine has completed:
 * its `finally` blocks and its children's have run. A blocking call inside the body is cut only if
 * it runs on the attempt's thread or inside `runInterruptible`; a `withContext(Dispatchers.IO)`
 * around a blocking call lets that call run on, and the attempt waits for it.
 *
 * A body that returns `Unit` makes a `Task<Unit>`. The body may throw; a failure is retried by the
 * task's retry policy as any other (a `CancellationException` the body throws on its own, such as
 * `withTimeout`'s, is a failure too, unless the attempt was cut).
 *
 * The task is configured and handled as any [Task] (configuration on one thread before it is
 * enqueued; the handle from any thread); the body runs once per attempt, never concurrently.
 *
 * @param body one attempt; its parameter is the attempt's context
 * @return a new task, not yet enqueued
 */
public fun <T> suspendingTask(body: suspend CoroutineScope.(TaskContext) -> T): Task<T> =
    Task.ofJob { context -> runSuspending(context) { body(this, context) } }

/**
 * Enqueues a task whose body is a suspend function (see [suspendingTask]) with the queue's default
 * settings; suspends, without blocking a thread, while the ready queue is full.
 *
 * @param body one attempt; its parameter is the attempt's context
 * @return the task's handle
 * @throws java.util.concurrent.RejectedExecutionException if the queue is shut down
 * @see enqueueSuspending
 */
public suspend fun <T> WorkQueue.submitSuspending(body: suspend CoroutineScope.(TaskContext) -> T): Task<T> =
    enqueueSuspending(suspendingTask(body))

/**
 * Registers a handler whose body is a suspend function for the typed tasks of [type]; each attempt
 * runs it as [suspendingTask] runs its body. The Kotlin counterpart of [WorkQueue.Builder.handle].
 *
 * @param type the task type
 * @param handler one attempt: the attempt's context and the decoded payload
 * @return this builder
 */
public fun <P> WorkQueue.Builder.handleSuspending(
    type: TaskType<P>,
    handler: suspend CoroutineScope.(TaskContext, P) -> Unit,
): WorkQueue.Builder =
    handle(type, TaskHandler<P> { context, payload -> runSuspending(context) { handler(this, context, payload) } })

/**
 * Runs [body] as a coroutine on the calling thread (an attempt's), dispatching every continuation of
 * the coroutine and of its children that stay on this dispatcher to this thread, until the coroutine
 * has completed. An interrupt of the thread (loomwork's cut) cancels the coroutine; the loop then
 * runs on until the cancelled coroutine has completed, and throws [InterruptedException].
 *
 * Not runBlocking: in kotlinx.coroutines 1.8 and older it returns at once when its thread is
 * interrupted, leaving the cancelled coroutine and its children running after the attempt ended, and
 * the dependency is optional, so the user picks the version. This loop waits on any version.
 */
internal fun <T> runSuspending(context: TaskContext, body: suspend CoroutineScope.() -> T): T {
  val loop = AttemptLoop(context)
  val outcome = AtomicReference<Result<T>>()
  val scope = CoroutineScope(loop + TaskContextElement(context) + CoroutineName(loop.name))
  val coroutine =
      scope.launch {
        // coroutineScope: a body that throws cancels what it launched; a child that fails fails it.
        outcome.set(runCatching { coroutineScope(body) })
      }
  coroutine.invokeOnCompletion { loop.wake() }
  var cut: InterruptedException? = null
  try {
    while (!coroutine.isCompleted) {
      val block =
          try {
            loop.take()
          } catch (e: InterruptedException) {
            if (cut == null) {
              cut = e
              coroutine.cancel(AttemptCutException(context, e))
            }
            continue // run on until the cancelled coroutine has completed
          }
      try {
        block.run()
      } catch (e: Throwable) {
        // A dispatched task never throws (kotlinx reports its own failures); keep the loop alive.
        val thread = Thread.currentThread()
        thread.uncaughtExceptionHandler.uncaughtException(thread, e)
      }
    }
  } finally {
    loop.close()
  }
  val result = outcome.get()
  val interrupted = cut
  if (interrupted != null) {
    val failure = result?.exceptionOrNull()
    if (failure != null && failure !is kotlinx.coroutines.CancellationException) throw failure
    throw interrupted
  }
  // Completed without being cut: outcome was set unless the scope was cancelled from outside.
  return (result ?: Result.failure(IllegalStateException("the coroutine of $context ended without a result")))
      .getOrThrow()
}

/** The cancellation cause of a coroutine whose attempt loomwork cut. */
internal class AttemptCutException(context: TaskContext, cause: InterruptedException) :
    kotlinx.coroutines.CancellationException(
        "loomwork cut attempt ${context.attempt()} of task '${context.taskName()}' (timeout, deadline," +
            " cancel or shutdown)") {
  init {
    initCause(cause)
  }
}

/**
 * The dispatcher of one attempt's coroutine: a queue that the attempt's thread drains. A continuation
 * dispatched after the attempt has ended (a coroutine that escaped the attempt's scope) runs on
 * [Dispatchers.Default] instead.
 */
private class AttemptLoop(context: TaskContext) : CoroutineDispatcher() {
  val name: String = "loomwork ${context.queueName()}/${context.taskName()}#${context.attempt()}"
  private val queue = LinkedBlockingQueue<Runnable>()
  @Volatile private var closed = false

  override fun dispatch(context: CoroutineContext, block: Runnable) {
    queue.add(block)
    if (closed && queue.remove(block)) {
      Dispatchers.Default.dispatch(context, block)
    }
  }

  fun take(): Runnable = queue.take()

  fun wake() {
    queue.add(NOTHING)
  }

  fun close() {
    closed = true
    while (true) {
      val block = queue.poll() ?: break
      if (block !== NOTHING) Dispatchers.Default.dispatch(kotlin.coroutines.EmptyCoroutineContext, block)
    }
  }

  override fun toString(): String = name

  private companion object {
    val NOTHING = Runnable {}
  }
}
