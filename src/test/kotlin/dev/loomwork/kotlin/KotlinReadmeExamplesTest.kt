package dev.loomwork.kotlin

import dev.loomwork.RetryPolicy
import dev.loomwork.Task
import dev.loomwork.TaskState
import java.io.IOException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension
import org.slf4j.LoggerFactory

/**
 * The README's Kotlin examples are the code between the `README:name` markers below: each test runs
 * its example, and `ReadmeExamplesTest.theReadmeShowsExactlyTheseExamples` fails if the README
 * drifts from them.
 */
class KotlinReadmeExamplesTest {
  @RegisterExtension val fx = KotlinFixture()
  private val log = LoggerFactory.getLogger(KotlinReadmeExamplesTest::class.java)

  /** Stands in for a suspending mail client. */
  private class Mailer {
    val sent = ConcurrentLinkedQueue<String>()

    suspend fun send(template: String, to: String) {
      delay(1.milliseconds)
      sent.add("$template -> $to")
    }
  }

  /** Stands in for a suspending webhook client: the first call fails, as a flaky endpoint would. */
  private class Webhook(private val gate: CompletableDeferred<Unit>? = null) {
    val calls = AtomicInteger()

    suspend fun post(url: String, attempt: Int): Int {
      gate?.await()
      if (calls.incrementAndGet() == 1) throw IOException("503 from $url (attempt $attempt)")
      return 200
    }
  }

  /** Stands in for a mail API that drops a second request with the same idempotency key. */
  private class Outbox {
    val byKey = ConcurrentHashMap<String, String>()

    fun send(to: String, idempotencyKey: String) {
      byKey.putIfAbsent(idempotencyKey, to)
    }
  }

  @Test
  fun quickstart(): Unit = runBlocking {
    val mailer = Mailer()
    val webhook = Webhook()
    // README:kotlin-quickstart
    val events: Flow<QueueEvent>
    val queue = workQueue("outbox") {
      concurrency = 16
      retryPolicy = RetryPolicy.defaults().withBackoff(exponentialBackoff(100.milliseconds, 30.seconds))
      events = events() // every event from now on, until the queue terminates
    }
    coroutineScope {
      queue.launchIn(this) // runs the queue while this scope lives, on a virtual thread
      launch { events.collect { event -> log.debug("{}", event) } }

      // A suspend body: fire and forget. The context is `it` when you need it.
      queue.submitSuspending { mailer.send("welcome", "ada@example.com") }

      val delivery: Task<Int> = queue.enqueueSuspending(
          suspendingTask { ctx -> webhook.post("https://example.com/hook", ctx.attempt()) }
              .named("webhook-42")
              .retries(5)
              .attemptTimeout(10.seconds) // cancels the body's coroutine and all it launched
              .after { task -> log.info("{} ended {}", task.name(), task.state()) })

      log.info("webhook answered {}", delivery.awaitSuspending()) // suspends, blocks no thread
      queue.shutdownSuspending() // drains; then the queue's job, the collector and the scope end
    }
    // README:end
    assertEquals(2, webhook.calls.get())
    assertEquals(listOf("welcome -> ada@example.com"), mailer.sent.toList())
    assertTrue(queue.isTerminated)
  }

  @Test
  fun waitingBriefly(): Unit = runBlocking {
    val queue = fx.queue("webhooks") { retryPolicy = RetryPolicy.defaults().withBackoff(fixedBackoff(Duration.ZERO)) }
    queue.start()
    val slow = fx.gate()
    val webhook = Webhook(slow)
    val delivery = queue.enqueue(suspendingTask { ctx -> webhook.post("https://example.com/hook", ctx.attempt()) })
    // README:kotlin-await
    // Answer the request within 50 ms; a webhook that takes longer goes on, and is not lost.
    val response = when (val status = withTimeoutOrNull(50.milliseconds) { delivery.awaitSuspending() }) {
      null -> "202 Accepted"
      else -> "200 OK (webhook answered $status)"
    }
    // README:end
    assertEquals("202 Accepted", response)
    assertEquals(TaskState.RUNNING, delivery.state())
    slow.complete(Unit)
    assertEquals(200, guarded { delivery.awaitSuspending() })
  }

  @Test
  fun contextOnOtherDispatchers(): Unit = runBlocking {
    val queue = fx.queue("email")
    queue.start()
    val outbox = Outbox()
    val address = "ada@example.com"
    // README:kotlin-context
    val task = queue.submitSuspending {
      withContext(Dispatchers.IO) {
        // TaskContext.current() is bound to the attempt's thread only; taskContext() travels along.
        outbox.send(address, idempotencyKey = taskContext().taskId())
      }
    }
    // README:end
    guarded { task.awaitSuspending() }
    assertEquals(mapOf(task.id() to address), outbox.byKey.toMap())
  }
}
