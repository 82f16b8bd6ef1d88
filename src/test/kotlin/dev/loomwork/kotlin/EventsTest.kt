package dev.loomwork.kotlin

import dev.loomwork.QueueStats
import dev.loomwork.RetryPolicy
import dev.loomwork.WorkQueue
import dev.loomwork.WorkQueueListener
import dev.loomwork.WorkQueueListener.AttemptOutcome
import java.io.IOException
import java.util.concurrent.ConcurrentLinkedQueue
import kotlin.time.Duration
import kotlin.time.Duration.Companion.hours
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension

/**
 * Issue 13, point 9: `events()` is a Flow of the queue's listener events that loses none (its
 * listener is registered when the queue is built) and completes when the queue has terminated.
 */
class EventsTest {
  @RegisterExtension val fx = KotlinFixture()

  @Test
  fun everyEventFromTheFirstIsDeliveredAndTheFlowCompletes(): Unit = runBlocking {
    val events: Flow<QueueEvent>
    val queue =
        fx.queue("events") {
          retryPolicy = RetryPolicy.defaults().withBackoff(fixedBackoff(Duration.ZERO))
          events = events()
        }
    // Events before anyone collects: enqueued while the queue is not even started.
    val ok = queue.submitSuspending { "ok" }
    val flaky = queue.enqueue(suspendingTask { ctx -> if (ctx.attempt() == 1) throw IOException("503") }.retries(1))
    val doomed = queue.enqueue(suspendingTask<Unit> { throw IOException("gone") }.retries(0))
    val cancelled = queue.enqueue(suspendingTask { }.delay(1.hours))
    queue.start()
    ok.awaitSuspending()
    flaky.awaitSuspending()
    cancelled.cancel()
    queue.shutdownSuspending()

    // Collected only now, after the queue terminated: nothing was lost, and the flow ends.
    val all = guarded { events.toList() }
    val byTask = all.groupBy { it.task }
    assertEquals(
        listOf("Enqueued", "AttemptStarted", "AttemptFinished", "Succeeded"),
        byTask.getValue(ok).map { it::class.simpleName })
    // A retry may start on another thread before the first attempt's thread has published its end.
    assertEquals(
        listOf("Enqueued", "AttemptStarted", "AttemptFinished", "RetryScheduled", "AttemptStarted", "AttemptFinished", "Succeeded")
            .sorted(),
        byTask.getValue(flaky).map { it::class.simpleName }.sortedBy { it })
    // With no backoff, the retry's end can be published before the first attempt's: compare by attempt.
    assertEquals(
        listOf(AttemptOutcome.FAILED, AttemptOutcome.SUCCEEDED),
        byTask.getValue(flaky).filterIsInstance<QueueEvent.AttemptFinished>().sortedBy { it.attempt }.map { it.outcome })
    assertEquals("gone", byTask.getValue(doomed).filterIsInstance<QueueEvent.Failed>().single().error.message)
    assertEquals(listOf("Enqueued", "Cancelled"), byTask.getValue(cancelled).map { it::class.simpleName })
    assertEquals(4, all.count { it is QueueEvent.Enqueued })
  }

  @Test
  fun aCollectorStartedFirstSeesTheQueueThroughToTheEnd(): Unit = runBlocking {
    val builder = WorkQueue.builder("events-live")
    val events = builder.events()
    val queue = fx.track(builder.build())
    val collected = async(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) { events.toList() }
    queue.start()
    val tasks = List(50) { i -> queue.submitSuspending { i } }
    tasks.forEach { it.awaitSuspending() }
    queue.shutdownSuspending()
    val all = guarded { collected.await() }
    assertEquals(50, all.count { it is QueueEvent.Succeeded })
    assertEquals(tasks.toSet(), all.filterIsInstance<QueueEvent.Succeeded>().map { it.task }.toSet())
  }

  @Test
  fun cancelledTasksPublishedByTheShutdownAreNotLost(): Unit = runBlocking {
    // A cancelling shutdown of a never-started queue publishes the cancellations on its own thread,
    // while the owner may already have terminated: the flow still waits for every one of them.
    repeat(20) { round ->
      val events: Flow<QueueEvent>
      val queue = fx.queue("events-cut-$round") { events = events() }
      val tasks = List(200) { queue.enqueue(suspendingTask { }) }
      val report = queue.shutdownSuspending(Duration.ZERO)
      assertEquals(200, report.cancelled().size)
      val all = guarded { events.toList() }
      assertEquals(200, all.count { it is QueueEvent.Cancelled }, "round $round")
      assertEquals(tasks.toSet(), all.filterIsInstance<QueueEvent.Cancelled>().map { it.task }.toSet())
    }
  }

  @Test
  fun anIdleQueueEndsItsFlowWhenItTerminates(): Unit = runBlocking {
    val events: Flow<QueueEvent>
    val queue = fx.queue("events-idle") { events = events() }
    queue.start()
    queue.shutdownSuspending()
    assertEquals(emptyList<QueueEvent>(), guarded { events.toList() })
  }

  @Test
  fun theFlowIsCollectedOnce(): Unit = runBlocking {
    val events: Flow<QueueEvent>
    val queue = fx.queue("events-once") { events = events() }
    queue.submitSuspending { }
    queue.start()
    guarded { events.first() }
    expect<IllegalStateException> { events.first() }
    queue.shutdownSuspending()
  }

  @Test
  fun listenersHearTheTerminationWithTheFinalCounts(): Unit = runBlocking {
    val heard = ConcurrentLinkedQueue<String>()
    val terminated = CompletableDeferred<Unit>()
    val queue =
        fx.queue("terminated") {
          listener(
              object : WorkQueueListener {
                override fun onTerminated(queue: String, stats: QueueStats) {
                  heard.add("$queue: ${stats.submitted()} submitted, ${stats.succeeded()} succeeded, ${stats.outstanding()} left")
                  terminated.complete(Unit)
                }
              })
        }
    queue.start()
    repeat(3) { queue.submitSuspending { } }
    queue.shutdownSuspending()
    guarded { terminated.await() }
    assertEquals(listOf("terminated: 3 submitted, 3 succeeded, 0 left"), heard.toList())
    assertTrue(queue.isTerminated)
  }
}
