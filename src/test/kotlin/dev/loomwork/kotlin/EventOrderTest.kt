package dev.loomwork.kotlin

import dev.loomwork.Backoff
import dev.loomwork.RetryPolicy
import dev.loomwork.Task
import dev.loomwork.WorkQueueListener
import dev.loomwork.WorkQueueListener.AttemptOutcome
import java.time.Duration as JavaDuration
import java.time.Instant
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension

/**
 * Issue 23, point 3: the events of one task arrive in the order they happened, to listeners and in
 * the flow: `Enqueued` before its first attempt's events, an attempt's end and its retry before the
 * next attempt starts, the terminal event last. Under load: many producers, many attempts at once,
 * every task failing once and then succeeding.
 */
class EventOrderTest {
  @RegisterExtension val fx = KotlinFixture()

  private val expected =
      listOf("enqueued", "started#1", "finished#1:FAILED", "retry", "started#2", "finished#2:SUCCEEDED", "succeeded")

  /** The name of [event], as the expected sequence spells it. */
  private fun label(event: QueueEvent): String =
      when (event) {
        is QueueEvent.Enqueued -> "enqueued"
        is QueueEvent.AttemptStarted -> "started#${event.attempt}"
        is QueueEvent.AttemptFinished -> "finished#${event.attempt}:${event.outcome}"
        is QueueEvent.RetryScheduled -> "retry"
        is QueueEvent.Succeeded -> "succeeded"
        else -> event.toString()
      }

  @Test
  fun theEventsOfEachTaskArriveInTheOrderTheyHappened(): Unit = runBlocking {
    val heard = ConcurrentHashMap<Task<*>, MutableList<String>>()
    fun hear(task: Task<*>, what: String) {
      Thread.yield() // widen the window between the queue's decision and the event (no sleep)
      heard.computeIfAbsent(task) { java.util.Collections.synchronizedList(mutableListOf()) }.add(what)
    }
    val listener =
        object : WorkQueueListener {
          override fun onEnqueued(task: Task<*>) = hear(task, "enqueued")

          override fun onAttemptStarted(task: Task<*>, attempt: Int, waited: JavaDuration) =
              hear(task, "started#$attempt")

          override fun onAttemptFinished(
              task: Task<*>,
              attempt: Int,
              outcome: AttemptOutcome,
              duration: JavaDuration,
              error: Throwable?,
          ) = hear(task, "finished#$attempt:$outcome")

          override fun onRetryScheduled(task: Task<*>, error: Throwable, nextAttemptAt: Instant) = hear(task, "retry")

          override fun onSucceeded(task: Task<*>) = hear(task, "succeeded")
        }
    lateinit var events: kotlinx.coroutines.flow.Flow<QueueEvent>
    val queue =
        fx.queue("event-order") {
          concurrency = 16
          retryPolicy = RetryPolicy.defaults().withBackoff(Backoff.none())
          listener(listener)
          events = events()
        }
    val collected = async(Dispatchers.Default) { events.toList() }
    queue.start()
    val tasks = 2_000
    val producers = 4
    val failedOnce = ConcurrentHashMap.newKeySet<Int>()
    val made = AtomicInteger()
    List(producers) { p ->
          async(Dispatchers.Default) {
            for (i in p until tasks step producers) {
              made.incrementAndGet()
              queue.enqueueSuspending(
                  Task.ofJob { _ -> if (failedOnce.add(i)) throw IllegalStateException("first attempt of $i") else i })
            }
          }
        }
        .forEach { it.await() }
    assertEquals(tasks, made.get())
    guarded { queue.shutdownSuspending() }

    assertEquals(tasks, heard.size)
    val outOfOrder = heard.filterValues { it.toList() != expected }
    assertEquals(
        0, outOfOrder.size, "listener: tasks whose events arrived out of order, e.g. ${outOfOrder.values.take(3)}")

    val byTask = guarded { collected.await() }.groupBy({ it.task }, { label(it) })
    assertEquals(tasks, byTask.size)
    val flowOutOfOrder = byTask.filterValues { it != expected }
    assertEquals(
        0, flowOutOfOrder.size, "flow: tasks whose events arrived out of order, e.g. ${flowOutOfOrder.values.take(3)}")
  }
}
