package dev.loomwork.kotlin

import dev.loomwork.AttemptTimeoutException
import dev.loomwork.RetryPolicy
import dev.loomwork.Task
import dev.loomwork.TaskCodec
import dev.loomwork.TaskContext
import dev.loomwork.TaskFailedException
import dev.loomwork.TaskState
import dev.loomwork.TaskType
import dev.loomwork.WorkQueueListener
import dev.loomwork.WorkQueueListener.AttemptOutcome
import java.io.IOException
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.runInterruptible
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension

/**
 * Issue 13, point 1: a body can call suspend functions. Each attempt runs its coroutine on the
 * attempt's thread; cutting the attempt (timeout, cancel, shutdown) cancels the coroutine and all it
 * launched, and the attempt ends only when the coroutine has completed.
 */
class SuspendingBodyTest {
  @RegisterExtension val fx = KotlinFixture()

  /**
   * A body that launches a child on another dispatcher and waits until cut; both clean up slowly
   * (a suspending delay in their `finally`), and record when they are done.
   */
  private class CutProbe {
    val started = CompletableDeferred<Unit>()
    val bodyCleanedUp = AtomicBoolean()
    val childCleanedUp = AtomicBoolean()
    /** What the after-callback saw: the attempt had ended, so everything must be cleaned up. */
    val atTheEnd = ConcurrentLinkedQueue<String>()

    fun task(): Task<Unit> =
        suspendingTask<Unit> {
              val childStarted = CompletableDeferred<Unit>()
              launch(Dispatchers.Default) {
                try {
                  childStarted.complete(Unit)
                  awaitCancellation()
                } finally {
                  withContext(NonCancellable) { delay(50.milliseconds) }
                  childCleanedUp.set(true)
                }
              }
              childStarted.await()
              try {
                started.complete(Unit)
                awaitCancellation()
              } finally {
                withContext(NonCancellable) { delay(20.milliseconds) }
                bodyCleanedUp.set(true)
              }
            }
            .after { atTheEnd.add("body=${bodyCleanedUp.get()} child=${childCleanedUp.get()}") }
  }

  @Test
  fun aBodyCallsSuspendFunctionsOnItsAttemptThread(): Unit = runBlocking {
    val queue = fx.queue("suspending")
    queue.start()
    val task =
        queue.submitSuspending { ctx ->
          val thread = Thread.currentThread()
          delay(10.milliseconds)
          val elsewhere = withContext(Dispatchers.IO) { Thread.currentThread() }
          yield()
          assertSame(thread, Thread.currentThread(), "back on the attempt's thread after each suspension")
          assertTrue(thread.isVirtual, "an attempt thread is a virtual thread")
          assertTrue(elsewhere !== thread)
          assertSame(ctx, TaskContext.current(), "the Java context is bound on the attempt's thread")
          "attempt ${ctx.attempt()} of ${ctx.taskName()}"
        }
    assertEquals("attempt 1 of task-1", guarded { task.awaitSuspending() })
  }

  @Test
  fun aTimeoutCancelsTheCoroutineAndItsChildrenBeforeTheAttemptEnds(): Unit = runBlocking {
    val outcomes = ConcurrentLinkedQueue<AttemptOutcome>()
    val queue =
        fx.queue("suspending-timeout") {
          listener(
              object : WorkQueueListener {
                override fun onAttemptFinished(
                    task: Task<*>,
                    attempt: Int,
                    outcome: AttemptOutcome,
                    duration: java.time.Duration,
                    error: Throwable?,
                ) {
                  outcomes.add(outcome)
                }
              })
        }
    queue.start()
    val probe = CutProbe()
    val task = queue.enqueue(probe.task().retries(0).attemptTimeout(100.milliseconds))
    val e = expect<TaskFailedException> { guarded { task.awaitSuspending() } }
    assertInstanceOf(AttemptTimeoutException::class.java, e.cause)
    assertEquals(listOf(AttemptOutcome.TIMED_OUT), outcomes.toList())
    assertEquals(listOf("body=true child=true"), probe.atTheEnd.toList(), "the attempt ended after its coroutine")
  }

  @Test
  fun aCancelCutsTheCoroutineAndItsChildren(): Unit = runBlocking {
    val queue = fx.queue("suspending-cancel")
    queue.start()
    val probe = CutProbe()
    val task = queue.enqueue(probe.task())
    guarded { probe.started.await() }
    assertTrue(task.cancel())
    expect<TaskCancelledException> { guarded { task.awaitSuspending() } }
    assertEquals(TaskState.CANCELLED, task.state())
    assertEquals(1, task.attempts(), "a cancelled task is not retried")
    assertEquals(listOf("body=true child=true"), probe.atTheEnd.toList())
  }

  @Test
  fun aShutdownCutsTheCoroutineAndWaitsForIt(): Unit = runBlocking {
    val queue = fx.queue("suspending-shutdown") { abandonAfter = GENEROUS }
    queue.start()
    val probe = CutProbe()
    val task = queue.enqueue(probe.task().named("cut-by-shutdown"))
    guarded { probe.started.await() }
    val report = guarded { queue.shutdownSuspending(Duration.ZERO) }
    assertEquals(listOf("cut-by-shutdown"), report.cancelled().map { it.name() })
    assertTrue(report.abandoned().isEmpty(), "the coroutine completed: nothing was abandoned")
    assertTrue(probe.bodyCleanedUp.get() && probe.childCleanedUp.get(), "cleaned up before the shutdown returned")
    assertEquals(TaskState.CANCELLED, task.state())
  }

  @Test
  fun aBlockingCallInRunInterruptibleIsCut(): Unit = runBlocking {
    val queue = fx.queue("suspending-interruptible")
    queue.start()
    val never = fx.latch()
    val entered = CountDownLatch(1)
    val interrupted = AtomicBoolean()
    val task =
        queue.submitSuspending {
          runInterruptible(Dispatchers.IO) {
            entered.countDown()
            try {
              never.await()
            } catch (e: InterruptedException) {
              interrupted.set(true)
              throw e
            }
          }
        }
    runInterruptible(Dispatchers.IO) { entered.awaitOrFail("the blocking call started") }
    task.cancel()
    expect<TaskCancelledException> { guarded { task.awaitSuspending() } }
    assertTrue(interrupted.get(), "the blocking call on Dispatchers.IO was interrupted before the attempt ended")
  }

  @Test
  fun failuresAreRetriedIncludingAFailedChildAndAnInnerTimeout(): Unit = runBlocking {
    val queue = fx.queue("suspending-retry") { retryPolicy = RetryPolicy.defaults().withBackoff(fixedBackoff(Duration.ZERO)) }
    queue.start()
    val attempts = ConcurrentLinkedQueue<String>()
    val task =
        queue.enqueue(
            suspendingTask { ctx ->
                  when (ctx.attempt()) {
                    1 -> throw IOException("503").also { attempts.add("threw") }
                    2 -> coroutineScopeFailure(attempts)
                    3 -> withTimeout(10.milliseconds) { attempts.add("inner timeout"); awaitCancellation() }
                    else -> "ok after ${ctx.attempt() - 1} failures"
                  }
                }
                .retries(3))
    assertEquals("ok after 3 failures", guarded { task.awaitSuspending() })
    assertEquals(listOf("threw", "child failed", "inner timeout"), attempts.toList())
  }

  /** Launches a child that fails: the attempt fails with the child's error. */
  private suspend fun CoroutineScope.coroutineScopeFailure(attempts: ConcurrentLinkedQueue<String>): String {
    launch {
      attempts.add("child failed")
      throw IllegalStateException("child")
    }
    awaitCancellation()
  }

  @Test
  fun theFailureOfAnAttemptIsTheBodysOwnError(): Unit = runBlocking {
    val queue = fx.queue("suspending-failure")
    queue.start()
    val task = queue.enqueue(suspendingTask<Unit> { throw IOException("no route") }.retries(0))
    val e = expect<TaskFailedException> { guarded { task.awaitSuspending() } }
    assertEquals("no route", e.cause?.message)
    assertInstanceOf(IOException::class.java, task.error())
  }

  @Test
  fun aTypedTaskHasASuspendHandler(): Unit = runBlocking {
    val codec =
        object : TaskCodec<String> {
          override fun encode(payload: String) = "\"$payload\""

          override fun decode(json: String) = json.removeSurrounding("\"")
        }
    val greet = TaskType.of("greet", codec)
    val greeted = ConcurrentLinkedQueue<String>()
    val queue =
        fx.queue("suspending-typed") {
          handleSuspending(greet) { ctx, name ->
            delay(1.milliseconds)
            greeted.add("$name #${ctx.attempt()} ${taskContext().taskId() == ctx.taskId()}")
          }
        }
    queue.start()
    val task = queue.submit(greet, "ada")
    guarded { task.awaitSuspending() }
    assertEquals(listOf("ada #1 true"), greeted.toList())
  }

  @Test
  fun aBodyCutBeforeItStartsNeverRuns(): Unit = runBlocking {
    val queue = fx.queue("suspending-never")
    val ran = AtomicInteger()
    val task = queue.enqueue(suspendingTask { ran.incrementAndGet() }.delay(1.hours))
    queue.start()
    assertTrue(task.cancel())
    expect<TaskCancelledException> { guarded { task.awaitSuspending() } }
    assertEquals(0, ran.get())
  }
}
