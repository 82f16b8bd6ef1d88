package dev.loomwork.kotlin

import dev.loomwork.Backoff
import dev.loomwork.RetryPolicy
import dev.loomwork.Task
import dev.loomwork.TaskCodec
import dev.loomwork.TaskType
import dev.loomwork.WorkQueue
import dev.loomwork.WorkQueueListener
import dev.loomwork.postgres.PostgresExtension
import dev.loomwork.postgres.PostgresStore
import dev.loomwork.WorkQueueListener.AttemptOutcome
import java.time.Duration as JavaDuration
import java.time.Instant
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger
import javax.sql.DataSource
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.extension.ExtendWith
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.EnumSource
import org.junit.jupiter.api.extension.RegisterExtension

/**
 * Issue 23, point 3: the events of one task arrive in the order they happened, to listeners and in
 * the flow: `Enqueued` before its first attempt's events, an attempt's end and its retry before the
 * next attempt starts, the terminal event last. Under load: many producers, many attempts at once,
 * every task failing once and then succeeding. On both stores: on a durable queue the flow completes
 * too, and each claim is announced.
 */
@ExtendWith(PostgresExtension::class)
class EventOrderTest(private val ds: DataSource) {
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

  /** On a durable queue each claim is announced (docs/durable.md): the retry's claim has its own. */
  private val expectedDurable =
      listOf(
          "enqueued", "started#1", "finished#1:FAILED", "retry", "enqueued", "started#2", "finished#2:SUCCEEDED",
          "succeeded")

  enum class Store {
    MEMORY,
    DURABLE,
  }

  @ParameterizedTest
  @EnumSource(Store::class)
  fun theEventsOfEachTaskArriveInTheOrderTheyHappened(store: Store): Unit = runBlocking {
    // By the task's id: on a durable queue each claim makes a new handle, with the store's id.
    val heard = ConcurrentHashMap<String, MutableList<String>>()
    val tasks = if (store == Store.MEMORY) 2_000 else 300
    val succeeded = AtomicInteger()
    val allSucceeded = CompletableDeferred<Unit>()
    fun hear(task: Task<*>, what: String) {
      Thread.yield() // widen the window between the queue's decision and the event (no sleep)
      heard.computeIfAbsent(checkNotNull(task.id())) { java.util.Collections.synchronizedList(mutableListOf()) }.add(what)
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

          override fun onSucceeded(task: Task<*>) {
            hear(task, "succeeded")
            if (succeeded.incrementAndGet() == tasks) allSucceeded.complete(Unit)
          }
        }
    lateinit var events: kotlinx.coroutines.flow.Flow<QueueEvent>
    val collected: kotlinx.coroutines.Deferred<List<QueueEvent>>
    if (store == Store.MEMORY) {
      val queue =
          fx.queue("event-order") {
            concurrency = 16
            retryPolicy = RetryPolicy.defaults().withBackoff(Backoff.none())
            listener(listener)
            events = events()
          }
      collected = async(Dispatchers.Default) { events.toList() }
      queue.start()
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
    } else {
      // The same through PostgreSQL: typed tasks that fail their first attempt, retried at once.
      val pg = PostgresStore.builder(ds).pollInterval(JavaDuration.ofMillis(50)).build()
      val builder =
          WorkQueue.builder("event-order-durable")
              .store(pg)
              .concurrency(16)
              .handle(FLAKY) { ctx, i -> if (ctx.attempt() == 1) throw IllegalStateException("first attempt of $i") }
              .listener(listener)
      events = builder.events()
      val queue = fx.track(builder.build())
      collected = async(Dispatchers.Default) { events.toList() }
      queue.start()
      repeat(tasks) { i -> pg.enqueue("event-order-durable", Task.of(FLAKY, i)) }
      // A draining shutdown leaves in the store what this process has not claimed: wait for the ends.
      guarded { allSucceeded.await() }
      guarded { queue.shutdownSuspending() }
    }
    val want = if (store == Store.MEMORY) expected else expectedDurable

    assertEquals(tasks, heard.size)
    val outOfOrder = heard.filterValues { it.toList() != want }
    assertEquals(
        0, outOfOrder.size, "listener: tasks whose events arrived out of order, e.g. ${outOfOrder.values.take(3)}")

    // The flow completes (on a durable queue too) and carries the same order.
    val byTask = guarded { collected.await() }.groupBy({ it.task.id() }, { label(it) })
    assertEquals(tasks, byTask.size)
    val flowOutOfOrder = byTask.filterValues { it != want }
    assertEquals(
        0, flowOutOfOrder.size, "flow: tasks whose events arrived out of order, e.g. ${flowOutOfOrder.values.take(3)}")
  }

  private companion object {
    /** A payload that is a JSON number. */
    val NUMBER =
        object : TaskCodec<Int> {
          override fun encode(payload: Int): String = payload.toString()

          override fun decode(json: String): Int = json.trim().toInt()
        }

    val FLAKY: TaskType<Int> =
        TaskType.of("flaky", NUMBER).withRetryPolicy(RetryPolicy.defaults().withBackoff(Backoff.none()))
  }
}
