package dev.loomwork.kotlin

import dev.loomwork.NonRetryableException
import dev.loomwork.Task
import dev.loomwork.TaskFailedException
import dev.loomwork.TaskState
import java.util.concurrent.CancellationException
import java.util.concurrent.Executors
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.async
import kotlinx.coroutines.future.await
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.supervisorScope
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension

/**
 * Issue 13, points 2 to 4: `awaitSuspending` suspends instead of blocking (the member `await()` would
 * block), leaves the task alone when the waiter is cancelled unless asked, and reports a cancelled
 * task with an exception that is not a `CancellationException`.
 */
class AwaitTest {
  @RegisterExtension val fx = KotlinFixture()

  @Test
  fun awaitSuspendingBlocksNoThread() {
    // One thread for every coroutine below: if awaiting blocked it, the task's gate could never open.
    Executors.newSingleThreadExecutor().asCoroutineDispatcher().use { single ->
      runBlocking(single) {
        val queue = fx.queue("await-one-thread")
        queue.start()
        val gate = fx.gate()
        val task = queue.submitSuspending { gate.await(); "opened" }
        val waiter = async { task.awaitSuspending() }
        launch { gate.complete(Unit) } // runs only while the waiter is suspended
        assertEquals("opened", guarded { waiter.await() })
      }
    }
  }

  @Test
  fun awaitSuspendingRunsUnderRunTest() = runTest {
    val queue = fx.queue("await-run-test")
    queue.start()
    val gate = fx.gate()
    val task = queue.submitSuspending { gate.await(); 42 }
    val waiter = async { task.awaitSuspending() }
    launch { gate.complete(Unit) } // the test's single thread is free while the waiter waits
    assertEquals(42, waiter.await())
  }

  @Test
  fun aWaiterThatTimesOutLeavesTheTaskRunning(): Unit = runBlocking {
    val queue = fx.queue("await-timeout")
    queue.start()
    val gate = fx.gate()
    val started = CompletableDeferred<Unit>()
    val webhook = queue.submitSuspending { started.complete(Unit); gate.await(); "delivered" }
    guarded { started.await() }

    assertNull(withTimeoutOrNull(20.milliseconds) { webhook.awaitSuspending() }, "the waiter gave up")
    assertEquals(TaskState.RUNNING, webhook.state(), "and the task runs on")
    gate.complete(Unit)
    assertEquals("delivered", guarded { webhook.awaitSuspending() })
  }

  @Test
  fun aWaiterMayCancelTheTaskWhenAsked(): Unit = runBlocking {
    val queue = fx.queue("await-cancel-task")
    queue.start()
    val started = CompletableDeferred<Unit>()
    val task = queue.submitSuspending { started.complete(Unit); fx.gate().await() }
    guarded { started.await() }
    assertNull(withTimeoutOrNull(20.milliseconds) { task.awaitSuspending(cancelTaskOnCancel = true) })
    expect<TaskCancelledException> { guarded { task.awaitSuspending() } }
    assertEquals(TaskState.CANCELLED, task.state())
  }

  @Test
  fun theFutureAwaitOfKotlinxCancelsTheTaskItWaitsFor(): Unit = runBlocking {
    // Why awaitSuspending exists: kotlinx's CompletableFuture.await() cancels the future when the
    // waiter is cancelled, and cancelling a task's future cancels the task.
    val queue = fx.queue("await-future")
    val task = queue.enqueue(Task.of { }.delay(1.hours))
    assertNull(withTimeoutOrNull(20.milliseconds) { task.future().await() })
    assertEquals(TaskState.CANCELLED, task.state(), "the task was lost with the waiter")
  }

  @Test
  fun aCancelledTaskIsNotACancellationOfTheWaiter(): Unit = runBlocking {
    val queue = fx.queue("await-cancelled")
    val task = queue.enqueue(suspendingTask { }.named("later").delay(1.hours))
    assertTrue(task.cancel())
    val e = expect<TaskCancelledException> { guarded { task.awaitSuspending() } }
    assertFalse((e as Throwable) is CancellationException, "a TaskCancelledException is no CancellationException")
    assertEquals("later", e.taskName)
    assertEquals(task.id(), e.taskId)
    assertEquals("task 'later' was cancelled", e.message)

    // launch does not swallow it: it reaches the handler, as any failure does.
    val reported = CompletableDeferred<Throwable>()
    supervisorScope {
      launch(CoroutineExceptionHandler { _, failure -> reported.complete(failure) }) { task.awaitSuspending() }
    }
    assertTrue(guarded { reported.await() } is TaskCancelledException)
  }

  @Test
  fun aTaskCancelledThroughItsFutureIsReportedCancelledAtOnce(): Unit = runBlocking {
    val queue = fx.queue("await-future-cancel")
    queue.start()
    val started = CompletableDeferred<Unit>()
    val task = queue.submitSuspending { started.complete(Unit); fx.gate().await() }
    guarded { started.await() }
    assertTrue(task.future().cancel(true))
    expect<TaskCancelledException> { guarded { task.awaitSuspending() } }
  }

  @Test
  fun aFailedTaskThrowsTaskFailedExceptionWithItsError(): Unit = runBlocking {
    val queue = fx.queue("await-failed")
    queue.start()
    val failing = queue.submitSuspending<Unit> { throw NonRetryableException("no") }
    val e = expect<TaskFailedException> { guarded { failing.awaitSuspending() } }
    assertSame(failing.error(), e.cause)

    // A body's own CancellationException is a failure of the task, not a cancellation of anyone.
    val selfCancelled = queue.enqueue(suspendingTask<Unit> { throw CancellationException("gave up") }.retries(0))
    val e2 = expect<TaskFailedException> { guarded { selfCancelled.awaitSuspending() } }
    assertEquals("gave up", e2.cause?.message)
    assertEquals(TaskState.FAILED, selfCancelled.state())
  }

  @Test
  fun aTaskThatFailedWithACancellationExceptionHasAFailedFutureNotACancelledOne(): Unit = runBlocking {
    // Issue 23, point 5: only a cancelled task's future is cancelled.
    val queue = fx.queue("failed-future")
    queue.start()
    val error = CancellationException("gave up")
    val blocking = queue.enqueue(Task.ofJob<Unit> { _ -> throw error }.retries(0))
    val suspending = queue.enqueue(suspendingTask<Unit> { throw kotlinx.coroutines.CancellationException("gave up") }.retries(0))
    for (task in listOf(blocking, suspending)) {
      expect<TaskFailedException> { guarded { task.awaitSuspending() } }
      assertEquals(TaskState.FAILED, task.state())
      val future = task.future()
      assertFalse(future.isCancelled, "a failed task's future is not cancelled")
      assertTrue(future.isCompletedExceptionally)
      assertEquals(java.util.concurrent.Future.State.FAILED, future.state())
      assertSame(task.error(), future.exceptionNow(), "the future fails with the task's error")
      val thrown = expect<java.util.concurrent.ExecutionException> { future.get() }
      assertSame(task.error(), thrown.cause)
      val awaited = expect<TaskFailedException> { task.await() } // the blocking await, from a test thread
      assertSame(task.error(), awaited.cause)
    }
    assertSame(error, blocking.error())
    // A cancelled task's future is still a cancelled one.
    val cancelled = Task.of { _ -> }.delay(java.time.Duration.ofHours(1))
    queue.enqueue(cancelled)
    assertTrue(cancelled.cancel())
    assertTrue(cancelled.future().isCancelled)
  }

  @Test
  fun manyWaitersOnOneTask(): Unit = runBlocking {
    val queue = fx.queue("await-many")
    queue.start()
    val gate = fx.gate()
    val task = queue.submitSuspending { gate.await(); "done" }
    val waiters = List(100) { async { task.awaitSuspending() } }
    withContext(kotlinx.coroutines.Dispatchers.Default) { gate.complete(Unit) }
    assertEquals(List(100) { "done" }, guarded { waiters.map { it.await() } })
    assertEquals("done", task.awaitSuspending(), "an ended task answers at once")
  }
}
