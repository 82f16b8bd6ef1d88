package dev.loomwork.kotlin

import dev.loomwork.Task
import dev.loomwork.TaskContext
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension

/**
 * Issue 13, point 10: `TaskContext.current()` is a `ScopedValue`, unbound on other dispatchers; the
 * coroutine context element carries the context there, read with `taskContext()`.
 */
class TaskContextElementTest {
  @RegisterExtension val fx = KotlinFixture()

  @Test
  fun theContextTravelsToOtherDispatchersAndChildren(): Unit = runBlocking {
    val queue = fx.queue("context")
    queue.start()
    val task =
        queue.enqueue(
            suspendingTask { ctx ->
                  val seen = mutableListOf<String>()
                  withContext(Dispatchers.IO) {
                    seen += "io bound=${TaskContext.isBound()} same=${taskContext() === ctx}"
                  }
                  val child = async(Dispatchers.Default) { "default same=${taskContext() === ctx}" }
                  seen += child.await()
                  launch(Dispatchers.Default) {
                    val element = currentCoroutineContext()[TaskContextElement]
                    seen += "element=${element?.taskContext?.taskName()}"
                  }.join()
                  seen += "attempt thread bound=${TaskContext.isBound()} same=${taskContext() === ctx}"
                  seen
                }
                .named("carried"))
    assertEquals(
        listOf(
            "io bound=false same=true",
            "default same=true",
            "element=carried",
            "attempt thread bound=true same=true"),
        guarded { task.awaitSuspending() })
  }

  @Test
  fun aBlockingBodyPassesItsContextToCoroutinesItStarts(): Unit = runBlocking {
    val queue = fx.queue("context-blocking")
    queue.start()
    val task =
        queue.enqueue(
            Task.ofJob { ctx ->
              runBlocking(ctx.asContextElement() + Dispatchers.Default) { taskContext().taskId() == ctx.taskId() }
            })
    assertEquals(true, guarded { task.awaitSuspending() })
  }

  @Test
  fun onTheAttemptThreadTheBoundContextAnswers(): Unit = runBlocking {
    val queue = fx.queue("context-bound")
    queue.start()
    // A Java body's runBlocking on the attempt thread: no element, but the ScopedValue is bound.
    val task = queue.enqueue(Task.ofJob { ctx -> runBlocking { taskContext() } === ctx })
    assertEquals(true, guarded { task.awaitSuspending() })
  }

  @Test
  fun outsideAnAttemptThereIsNoContext(): Unit = runBlocking {
    assertFalse(TaskContext.isBound())
    val e = expect<IllegalStateException> { taskContext() }
    assertEquals(true, e.message?.startsWith("taskContext(): this coroutine carries no TaskContextElement"))
    val element = object : TaskContext by FakeContext {}.asContextElement()
    withContext(element) { assertSame(element.taskContext, taskContext()) }
  }

  private object FakeContext : TaskContext {
    override fun queueName() = "q"

    override fun taskId() = "id"

    override fun taskName() = "t"

    override fun attempt() = 1

    override fun deadline() = null

    override fun isCancelled() = false
  }
}
