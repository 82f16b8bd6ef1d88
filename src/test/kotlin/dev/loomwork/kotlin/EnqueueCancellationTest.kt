package dev.loomwork.kotlin

import dev.loomwork.Task
import dev.loomwork.TaskState
import dev.loomwork.WorkQueue
import dev.loomwork.WorkQueueListener
import java.time.Instant
import java.time.InstantSource
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicReference
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicReferenceArray
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancel
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.joinAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension

/**
 * Issue 23, points 1 and 4: a cancelled `enqueueSuspending` (or `submitSuspending`) caller means the
 * task was not accepted, and a returned task means it was; no accepted task is left without its
 * handle. A coroutine that gave up waiting for room is not a rejection.
 */
class EnqueueCancellationTest {
  @RegisterExtension val fx = KotlinFixture()

  /** What each of [calls] callers ended with: the task it enqueued, and whether it got it back. */
  private class Calls(val size: Int) {
    val tasks = AtomicReferenceArray<Task<*>>(size)
    val returned = AtomicReferenceArray<Boolean>(size)
    val began = CountDownLatch(size / 2)

    /** Every caller that got its task back had it accepted; every other one left it NEW. */
    fun assertNoAcceptedTaskWithoutAHandle(queue: WorkQueue, enqueuedBefore: Long = 0) {
      var accepted = 0
      var refused = 0
      for (i in 0 until size) {
        val task = tasks.get(i) ?: continue // a caller cancelled before it made its task
        if (returned.get(i) == true) {
          accepted++
          assertNotEquals(TaskState.NEW, task.state(), "caller $i got its task back: it was accepted")
        } else {
          refused++
          assertEquals(TaskState.NEW, task.state(), "caller $i was cancelled: its task was not accepted")
        }
      }
      assertEquals(
          accepted + enqueuedBefore,
          queue.stats().submitted(),
          "accepted tasks = handles returned ($refused cancelled)")
    }
  }

  /** Launches [calls] callers on [scope], each enqueueing a task of its own through [enqueue]. */
  private fun launchCallers(
      scope: CoroutineScope,
      calls: Calls,
      enqueue: suspend (Int) -> Task<*>,
  ): List<Job> =
      List(calls.size) { i ->
        scope.launch {
          calls.began.countDown()
          try {
            enqueue(i)
            calls.returned.set(i, true)
          } catch (e: CancellationException) {
            calls.returned.set(i, false)
          }
        }
      }

  @Test
  fun callersCancelledAtOnceWhileThereIsRoomNeverLoseAnAcceptedTask(): Unit = runBlocking {
    repeat(3) { round ->
      val queue = fx.queue("cancel-room-$round") { capacity = 10_000 } // never started: room for all
      val calls = Calls(2_000)
      val scope = CoroutineScope(Dispatchers.Default + Job())
      val jobs =
          launchCallers(scope, calls) { i ->
            val task = suspendingTask { i }
            calls.tasks.set(i, task)
            queue.enqueueSuspending(task)
          }
      calls.began.awaitOrFail("half the callers began")
      scope.cancel()
      guarded { jobs.joinAll() }
      calls.assertNoAcceptedTaskWithoutAHandle(queue)
    }
  }

  @Test
  fun submitSuspendingCallersCancelledAtOnceNeverLoseAnAcceptedTask(): Unit = runBlocking {
    val queue = fx.queue("cancel-submit") { capacity = 10_000 }
    val handles = CopyOnWriteArrayList<Task<*>>()
    val began = CountDownLatch(1_000)
    val scope = CoroutineScope(Dispatchers.Default + Job())
    val jobs =
        List(2_000) {
          scope.launch {
            began.countDown()
            handles.add(queue.submitSuspending { "ran" }) // added only if it returned
          }
        }
    began.awaitOrFail("half the callers began")
    scope.cancel()
    guarded { jobs.joinAll() }
    assertEquals(handles.size.toLong(), queue.stats().submitted(), "every accepted task's handle was returned")
  }

  @Test
  fun callersCancelledWhileRoomFreesUpNeverLoseAnAcceptedTask(): Unit = runBlocking {
    // capacity 1 and one ready task: every caller waits for room (the slow path). The queue then
    // runs, freeing room one task at a time, while all the callers are cancelled.
    val queue = fx.queue("cancel-wait") { capacity = 1 }
    queue.enqueue(Task.of { _ -> })
    val calls = Calls(400)
    val scope = CoroutineScope(Dispatchers.Default + Job())
    val jobs =
        launchCallers(scope, calls) { i ->
          val task = Task.ofJob<Int> { _ -> i }
          calls.tasks.set(i, task)
          queue.enqueueSuspending(task)
        }
    calls.began.awaitOrFail("half the callers began")
    awaitUntil("some callers wait for room") { queue.stats().submitted() == 1L }
    queue.start()
    scope.cancel()
    guarded { jobs.joinAll() }
    calls.assertNoAcceptedTaskWithoutAHandle(queue, enqueuedBefore = 1)
  }

  @Test
  fun aCallerAlreadyCancelledEnqueuesNothing(): Unit = runBlocking {
    val queue = fx.queue("cancel-before")
    val task = suspendingTask { }
    val caller = launch { kotlinx.coroutines.awaitCancellation() }
    caller.cancel()
    val thrown =
        expect<CancellationException> {
          kotlinx.coroutines.withContext(caller) { queue.enqueueSuspending(task) }
        }
    assertTrue(thrown.message != null)
    assertEquals(TaskState.NEW, task.state())
    assertEquals(0L, queue.stats().submitted())
  }

  @Test
  fun aCoroutineThatGaveUpWaitingForRoomIsNotARejection(): Unit = runBlocking {
    val rejections = CopyOnWriteArrayList<String>()
    // The clock is read just before the queue's lock is taken, on the thread that waits for room:
    // the test learns that thread, then waits until it is parked (waiting for room).
    val waitingThread = AtomicReference<Thread>()
    val queue =
        fx.queue("gave-up") {
          capacity = 1
          clock =
              object : InstantSource {
                override fun instant(): Instant {
                  val thread = Thread.currentThread()
                  if (thread.name.startsWith("loomwork-kotlin-")) waitingThread.set(thread)
                  return Instant.now()
                }
              }
          listener(
              object : WorkQueueListener {
                override fun onRejected(queue: String, task: Task<*>, reason: String) {
                  rejections.add(reason)
                }
              })
        }
    queue.enqueue(Task.of { _ -> })
    val task = Task.of { _ -> }.within(java.time.Duration.ofHours(1)) // a deadline: the clock is read
    val waiter = launch(Dispatchers.Default) { queue.enqueueSuspending(task) }
    awaitUntil("the waiter waits for room") { waitingThread.get()?.state == Thread.State.WAITING }
    guarded { waiter.cancelAndJoin() }
    assertTrue(waiter.isCancelled)
    assertEquals(TaskState.NEW, task.state(), "not accepted")
    assertEquals(1L, queue.stats().submitted())
    assertEquals(0L, queue.stats().rejected(), "a coroutine that gave up waiting was not refused")
    assertEquals(listOf<String>(), rejections, "and no listener hears of it as a rejection")
  }
}
