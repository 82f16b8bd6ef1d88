package dev.loomwork.kotlin

import dev.loomwork.Task
import dev.loomwork.TaskState
import dev.loomwork.TaskType
import dev.loomwork.WorkQueue
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension

/**
 * Issue 23, points 6, 7 and 8: what a coroutine service trips on. Each test is also the compiled form
 * of an example of docs/kotlin.md (the `README:` regions, which ReadmeExamplesTest matches against the page).
 */
class CoroutineUserTest {
  @RegisterExtension val fx = KotlinFixture()

  /** A service that keeps its queue, and the queue's events, as members. */
  // README:kotlin-member-property
  class Outbox {
    val events: Flow<QueueEvent>
    val queue: WorkQueue = workQueue("outbox") {
      concurrency = 4
      events = events() // a member val, initialised in the block: workQueue is inline
    }
  }
  // README:end

  @Test
  fun aMemberPropertyIsInitialisedInsideTheBuilder(): Unit = runBlocking {
    // Point 6: this class compiles only because workQueue is inline.
    val outbox = Outbox()
    fx.track(outbox.queue)
    val collected = async(Dispatchers.Default) { outbox.events.toList() }
    outbox.queue.start()
    outbox.queue.submitSuspending { "sent" }
    outbox.queue.shutdownSuspending()
    val kinds = guarded { collected.await() }.map { it::class.simpleName }
    assertEquals(listOf("Enqueued", "AttemptStarted", "AttemptFinished", "Succeeded"), kinds)
  }

  @Test
  fun underRunTestAPlainWithTimeoutFiresInVirtualTime() = runTest {
    // Point 7, the trap: the task runs in real time on the queue's threads, but runTest's clock is
    // virtual and skips ahead as soon as the test has nothing to run, so the timeout fires at once.
    val queue = fx.queue("virtual-timeout")
    queue.start()
    val gate = fx.gate()
    val task = queue.submitSuspending { gate.await(); "done" }
    expect<TimeoutCancellationException> { withTimeout(30.seconds) { task.awaitSuspending() } }
    assertEquals(false, task.isDone(), "the task was still running: no real time had passed")
  }

  @Test
  fun underRunTestATimeoutInRealTimeWaitsForTheTask() = runTest {
    // Point 7, the pattern: a timeout measured in real time runs on a real dispatcher.
    val queue = fx.queue("real-timeout")
    queue.start()
    val gate = fx.gate()
    val task = queue.submitSuspending { gate.await(); "done" }
    launch(Dispatchers.Default) { gate.complete(Unit) }
    // README:kotlin-run-test-timeout
    val result = withContext(Dispatchers.Default) { withTimeout(30.seconds) { task.awaitSuspending() } }
    // README:end
    assertEquals("done", result)
  }

  @Test
  fun underRunTestAQueueRunsInTheBackgroundScope() = runTest {
    // Point 7: launchIn(this) would make runTest wait for the queue until its own timeout, as any
    // coroutine left running does; backgroundScope is cancelled when the test body ends.
    // README:kotlin-run-test-background
    val queue = workQueue("in-test")
    queue.launchIn(backgroundScope) // cancelled, and the queue with it, when the test body ends
    val task = queue.submitSuspending { "ran" }
    assertEquals("ran", task.awaitSuspending())
    // README:end
    fx.track(queue)
  }

  @Test
  fun underRunTestAQueueLaunchedInTheTestIsShutDownBeforeTheBodyEnds() = runTest {
    // Point 7, the other pattern: launchIn(this), and a shutdown before the body ends.
    val queue = fx.queue("in-test-scope")
    val job = queue.launchIn(this)
    val task = queue.submitSuspending { "ran" }
    assertEquals("ran", task.awaitSuspending())
    queue.shutdownSuspending()
    job.join()
    assertTrue(job.isCompleted && !job.isCancelled)
  }

  // README:kotlin-codec
  data class Welcome(val address: String)

  val WELCOME: TaskType<Welcome> =
      TaskType.of("welcome", taskCodec({ "\"${it.address}\"" }, { Welcome(it.removeSurrounding("\"")) }))
  // README:end

  @Test
  fun typedTasksWithALambdaCodecAndASuspendingSubmit(): Unit = runBlocking {
    // Point 8: a codec of one lambda pair, submitSuspending(type, payload), useSuspending.
    val sent = CopyOnWriteArrayList<String>()
    // README:kotlin-use-suspending
    val result =
        workQueue("welcomes") { handleSuspending(WELCOME) { _, welcome -> sent.add(welcome.address) } }
            .useSuspending { queue ->
              queue.start()
              queue.submitSuspending(WELCOME, Welcome("ada@example.com")).awaitSuspending()
              "welcomed"
            } // drained and terminated here, without blocking a thread
    // README:end
    assertEquals("welcomed", result)
    assertEquals(listOf("ada@example.com"), sent)
  }

  @Test
  fun useSuspendingDrainsAfterAFailureAndStopsAtOnceWhenCancelled(): Unit = runBlocking {
    val queue = fx.queue("use-failed")
    queue.start()
    lateinit var task: Task<String>
    val failure =
        expect<IllegalStateException> {
          queue.useSuspending {
            task = it.submitSuspending { "drained" }
            throw IllegalStateException("block failed")
          }
        }
    assertEquals("block failed", failure.message)
    assertTrue(queue.isTerminated)
    assertEquals(TaskState.SUCCEEDED, task.state(), "a failure of the block drains the queue")

    val stopped = fx.queue("use-cancelled")
    stopped.start()
    val started = CompletableDeferred<Unit>()
    lateinit var stuck: Task<Unit>
    val user =
        launch(Dispatchers.Default) {
          stopped.useSuspending {
            stuck = it.submitSuspending { started.complete(Unit); awaitCancellation() }
            awaitCancellation()
          }
        }
    guarded { started.await() }
    user.cancel()
    guarded { user.join() }
    assertTrue(stopped.isTerminated, "a cancelled user stops the queue at once")
    assertEquals(TaskState.CANCELLED, stuck.state())
  }
}
