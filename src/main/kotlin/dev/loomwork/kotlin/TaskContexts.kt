package dev.loomwork.kotlin

import dev.loomwork.TaskContext
import kotlin.coroutines.AbstractCoroutineContextElement
import kotlin.coroutines.CoroutineContext
import kotlinx.coroutines.currentCoroutineContext

/**
 * A coroutine context element that carries an attempt's [TaskContext] to every coroutine of the
 * attempt, whatever its dispatcher. Java's [TaskContext.current] is bound with a `ScopedValue`, so it
 * answers only on the attempt's own thread (and in threads forked in its `StructuredTaskScope`s); a
 * coroutine resumed on `Dispatchers.IO` or `Dispatchers.Default` finds it unbound. Read the context
 * there with [taskContext], or `coroutineContext[TaskContextElement]`.
 *
 * The body of a [suspendingTask] (and of a handler registered with `handleSuspending`) has it in its
 * context already. A blocking body that starts coroutines of its own can pass it on with
 * [asContextElement]: `runBlocking(ctx.asContextElement()) { ... }`.
 *
 * Immutable and thread-safe, as the [TaskContext] it carries.
 *
 * @property taskContext the attempt's context
 */
public class TaskContextElement(public val taskContext: TaskContext) :
    AbstractCoroutineContextElement(TaskContextElement) {

  /** The key of [TaskContextElement] in a [CoroutineContext]. */
  public companion object Key : CoroutineContext.Key<TaskContextElement>

  override fun toString(): String = "TaskContextElement($taskContext)"
}

/**
 * Returns a coroutine context element that carries this context into coroutines.
 *
 * @return the element
 */
public fun TaskContext.asContextElement(): TaskContextElement = TaskContextElement(this)

/**
 * Returns the [TaskContext] of the attempt the calling coroutine belongs to, on any dispatcher: the
 * one its [TaskContextElement] carries, else the one bound to the current thread.
 *
 * @return the attempt's context
 * @throws IllegalStateException if the coroutine belongs to no loomwork attempt
 */
public suspend fun taskContext(): TaskContext =
    currentCoroutineContext()[TaskContextElement]?.taskContext
        ?: if (TaskContext.isBound()) {
          TaskContext.current()
        } else {
          throw IllegalStateException(
              "taskContext(): this coroutine carries no TaskContextElement and its thread (" +
                  Thread.currentThread() +
                  ") runs no loomwork attempt")
        }
