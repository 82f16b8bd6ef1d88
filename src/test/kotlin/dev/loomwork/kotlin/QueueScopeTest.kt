package dev.loomwork.kotlin

import dev.loomwork.Task
import dev.loomwork.TestTimeouts
import dev.loomwork.TaskState
import dev.loomwork.WorkQueue
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.Executors
import java.util.concurrent.RejectedExecutionException
import kotlin.time.Duration
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.cancel
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.runInterruptible
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.EnumSource

/**
 * Issue 13, points 5 and 6: a queue run in a coroutine scope (`launchIn`) is safe to cancel at any
 * moment, before or after it starts, and leaves no task READY; shutdowns and a full enqueue suspend
 * instead of blocking a thread, and a queue's run holds no thread of the scope.
 */
class QueueScopeTest {
  @RegisterExtension val fx = KotlinFixture()

  /** A queue with work in every state a task waits in: blocked bodies, ready tasks, a delayed one. */
  private inner class Loaded {
    val running = CompletableDeferred<Unit>()
    private var started = 0
    val queue = fx.queue("scoped") { concurrency = 2 }
    val blocked = List(2) { queue.enqueue(suspendingTask { onStart(); awaitCancellation() }) }
    val ready = List(3) { queue.enqueue(suspendingTask { onStart(); awaitCancellation() }) }
    val delayed = queue.enqueue(suspendingTask { }.delay(1.hours))
    val all: List<Task<*>> = blocked + ready + delayed

    @Synchronized
    private fun onStart() {
      if (++started == 2) running.complete(Unit)
    }

    /** Every task ended cancelled, the queue terminated, and nothing was left READY. */
    fun assertAllCancelled(moment: Any) {
      all.forEach { assertEquals(TaskState.CANCELLED, it.state(), "${it.name()} ($moment)") }
      assertTrue(queue.isTerminated, "terminated ($moment)")
      val stats = queue.stats()
      assertEquals(0L, stats.outstanding(), "nothing ready, running or waiting ($moment): $stats")
      assertEquals(all.size.toLong(), stats.cancelled(), "$moment: $stats")
    }
  }

  /** When the scope is cancelled. */
  enum class Moment {
    BEFORE_LAUNCH,
    RIGHT_AFTER_LAUNCH,
    AFTER_A_YIELD,
    WHILE_ATTEMPTS_RUN,
  }

  @ParameterizedTest
  @EnumSource(Moment::class)
  fun cancellingTheScopeAtAnyMomentCancelsEverything(moment: Moment): Unit = runBlocking {
    repeat(if (moment == Moment.WHILE_ATTEMPTS_RUN) 3 else 20) {
      val loaded = Loaded()
      val scope = CoroutineScope(Dispatchers.Default)
      if (moment == Moment.BEFORE_LAUNCH) scope.cancel()
      val job = loaded.queue.launchIn(scope)
      when (moment) {
        Moment.AFTER_A_YIELD -> yield()
        Moment.WHILE_ATTEMPTS_RUN -> guarded { loaded.running.await() }
        else -> {}
      }
      scope.cancel()
      guarded { job.join() }
      assertTrue(job.isCancelled)
      loaded.assertAllCancelled(moment)
    }
  }

  @Test
  fun cancellingUnderRunTestBeforeTheLaunchedCoroutineWasDispatched() = runTest {
    // runTest's dispatcher runs a launched coroutine only when the test yields: launchIn starts the
    // queue anyway, and cancelling the job before the test ever yields cancels everything.
    val loaded = Loaded()
    val job = loaded.queue.launchIn(this)
    job.cancel()
    job.join()
    loaded.assertAllCancelled("runTest")
  }

  @Test
  fun theOldRecipeLosesTheQueueWhenCancelledEarly(): Unit = runBlocking {
    // The README's former recipe, cancelled before its coroutine ran: run() never starts, and the
    // tasks stay READY. launchIn (above) does not have this flaw.
    val queue = fx.queue("old-recipe")
    val task = queue.submit { }
    val scope = CoroutineScope(Dispatchers.Default)
    scope.cancel()
    scope.launch { runInterruptible(Dispatchers.IO) { queue.run() } }.join()
    assertEquals(TaskState.READY, task.state(), "left READY with nobody to run it")
    queue.shutdownNow()
  }

  @Test
  fun aGracefulShutdownEndsTheJobNormally(): Unit = runBlocking {
    val queue = fx.queue("scoped-drain")
    val job = queue.launchIn(this)
    val tasks = List(10) { i -> queue.submitSuspending { delay(1.milliseconds); i } }
    val report = guarded { queue.shutdownSuspending() }
    assertTrue(report.drained())
    guarded { job.join() }
    assertFalse(job.isCancelled, "the queue ended by its shutdown, not by a cancellation")
    assertEquals((0 until 10).toList(), tasks.map { it.awaitSuspending() })
  }

  @Test
  fun aShutdownRightAfterLaunchInDrainsAndEndsTheJobNormally(): Unit = runBlocking {
    // Issue 23, point 2: the shutdown used to start the queue on its own thread before launchIn's
    // owner got there, which then failed the scope ("already started") and cut the drain short.
    // Odd rounds shut down from the calling thread at once (Java's shutdown(timeout), which blocks),
    // which reliably got there first; even rounds through shutdownSuspending, as in the issue.
    repeat(200) { round ->
      val queue = WorkQueue.builder("launch-then-shutdown-$round").build()
      val task = queue.submit { }
      val failures = CopyOnWriteArrayList<Throwable>()
      val scope = CoroutineScope(Dispatchers.Default + Job() + CoroutineExceptionHandler { _, e -> failures.add(e) })
      val job = queue.launchIn(scope)
      val report =
          if (round % 2 == 1) queue.shutdown(TestTimeouts.GENEROUS) else guarded { queue.shutdownSuspending() }
      guarded { job.join() }
      assertEquals(listOf<Throwable>(), failures, "round $round: the scope did not fail")
      assertFalse(job.isCancelled, "round $round: the job ended normally")
      assertTrue(report.drained(), "round $round: drained")
      assertEquals(TaskState.SUCCEEDED, task.state(), "round $round: the ready task ran")
    }
  }

  @Test
  fun coroutineScopeWaitsForTheQueue(): Unit = runBlocking {
    val queue = fx.queue("scoped-wait")
    val result =
        coroutineScope {
          queue.launchIn(this)
          val task = queue.submitSuspending { "ran" }
          val value = task.awaitSuspending()
          queue.shutdownSuspending(5.seconds)
          value
        }
    assertEquals("ran", result)
    assertTrue(queue.isTerminated, "coroutineScope returned after the queue terminated")
  }

  @Test
  fun theQueueAndItsShutdownHoldNoThreadOfTheCaller() {
    // Everything on one thread: the queue's run, a drain that waits for a task, and the coroutine
    // that lets the task finish. A run() or shutdown() that blocked the thread would deadlock here.
    Executors.newSingleThreadExecutor().asCoroutineDispatcher().use { single ->
      runBlocking(single) {
        val queue = fx.queue("one-thread")
        queue.launchIn(this)
        val gate = fx.gate()
        val task = queue.submitSuspending { gate.await(); "drained" }
        val drain = async { queue.shutdownSuspending() }
        launch { gate.complete(Unit) }
        assertTrue(guarded { drain.await() }.drained())
        assertEquals("drained", task.awaitSuspending())
      }
    }
  }

  @Test
  fun cancellingAGracefulShutdownCancelsWhatIsLeft(): Unit = runBlocking {
    val queue = fx.queue("drain-cancelled")
    queue.start()
    val started = CompletableDeferred<Unit>()
    val stuck = queue.submitSuspending { started.complete(Unit); awaitCancellation() }
    guarded { started.await() }
    val drain = launch { queue.shutdownSuspending() }
    awaitUntil("the shutdown began") { queue.isShutdown }
    guarded { drain.cancelAndJoin() }
    assertEquals(TaskState.CANCELLED, stuck.state(), "cancelling the drain cancelled the task")
    assertTrue(queue.isTerminated)
  }

  @Test
  fun aTimedShutdownReportsWhatItCut(): Unit = runBlocking {
    val queue = fx.queue("drain-timed")
    queue.start()
    val started = CompletableDeferred<Unit>()
    queue.enqueue(suspendingTask { started.complete(Unit); awaitCancellation() }.named("slow"))
    queue.enqueue(suspendingTask { }.named("later").delay(1.hours))
    guarded { started.await() }
    val report = guarded { queue.shutdownSuspending(50.milliseconds) }
    assertEquals(setOf("slow", "later"), report.cancelled().map { it.name() }.toSet())
  }

  @Test
  fun aFullQueueSuspendsTheEnqueuer() {
    Executors.newSingleThreadExecutor().asCoroutineDispatcher().use { single ->
      runBlocking(single) {
        val queue = fx.queue("full") { capacity = 1 }
        val first = queue.enqueueSuspending(suspendingTask { "first" })
        val second = async { queue.enqueueSuspending(suspendingTask { "second" }) }
        yield()
        assertFalse(second.isCompleted, "the second waits for room")
        queue.launchIn(this) // the only thread is free: starting the queue makes room
        assertEquals("second", guarded { second.await() }.awaitSuspending())
        assertEquals("first", first.awaitSuspending())
        queue.shutdownSuspending()
      }
    }
  }

  @Test
  fun anEnqueuerCancelledWhileWaitingLeavesItsTaskOut(): Unit = runBlocking {
    val queue = fx.queue("full-cancelled") { capacity = 1 }
    queue.enqueue(suspendingTask { })
    val waiting = suspendingTask { "never" }
    assertNull(withTimeoutOrNull(20.milliseconds) { queue.enqueueSuspending(waiting) })
    assertEquals(TaskState.NEW, waiting.state(), "not accepted")
    assertEquals(1L, queue.stats().submitted())
    queue.shutdownNow()
    expect<RejectedExecutionException> { queue.enqueueSuspending(suspendingTask { }) }
  }

  @Test
  fun severalQueuesShutDownTogether(): Unit = runBlocking {
    val queues: List<WorkQueue> = List(3) { i -> fx.queue("several-$i").also { it.start() } }
    val tasks = queues.map { q -> q.submitSuspending { delay(5.milliseconds); q.name() } }
    val reports = guarded { queues.shutdownSuspending(Duration.INFINITE) }
    assertEquals(queues.map { it.name() }, reports.map { it.queue() })
    assertTrue(reports.all { it.drained() })
    assertEquals(queues.map { it.name() }, tasks.map { it.awaitSuspending() })
  }

  @Test
  fun aQueueRunsOnlyOnce(): Unit = runBlocking {
    val queue = fx.queue("twice")
    queue.start()
    val failure = CompletableDeferred<Throwable>()
    val scope = CoroutineScope(Job() + CoroutineExceptionHandler { _, e -> failure.complete(e) })
    queue.launchIn(scope).join()
    val e = guarded { failure.await() }
    assertTrue(e is IllegalStateException && e.message!!.contains("already started"), "$e")
    queue.shutdownSuspending()
  }
}
