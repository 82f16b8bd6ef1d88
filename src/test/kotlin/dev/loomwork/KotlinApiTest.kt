package dev.loomwork

import java.io.IOException
import java.time.Instant
import java.util.concurrent.CancellationException
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.toJavaDuration
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.future.await
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.runInterruptible
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.slf4j.LoggerFactory

/**
 * The Java API used from Kotlin without the Kotlin API (dev.loomwork.kotlin): trailing lambdas,
 * nullness, and the interop with kotlinx.coroutines that needs no wrapper.
 */
class KotlinApiTest {
  private val log = LoggerFactory.getLogger(KotlinApiTest::class.java)

  private class Mailer {
    val sent = ConcurrentLinkedQueue<String>()

    fun send(template: String, to: String) {
      sent.add("$template -> $to")
    }
  }

  private class Webhook {
    val calls = AtomicInteger()

    fun post(url: String, attempt: Int): Int {
      if (calls.incrementAndGet() == 1) throw IOException("503 from $url")
      return 200
    }
  }

  @Test
  fun quickstart() = runBlocking {
    val mailer = Mailer()
    val webhook = Webhook()
    val status = WorkQueue.builder("outbox").concurrency(16).build().use { queue ->
      queue.start()

      // A trailing lambda is a Work: fire and forget. The context is `it` when you need it.
      queue.submit { mailer.send("welcome", "ada@example.com") }

      val delivery: Task<Int> = queue.enqueue(
          Task.ofJob { ctx -> webhook.post("https://example.com/hook", ctx.attempt()) }
              .named("webhook-42")
              .retries(5)
              .backoff(Backoff.exponential(100.milliseconds.toJavaDuration(), 30.seconds.toJavaDuration()))
              .after { task -> log.info("{} ended {}", task.name(), task.state()) })

      delivery.future().await() // suspends the coroutine, blocks no thread
    }
    assertEquals(200, status)
    assertEquals(2, webhook.calls.get())
    assertEquals(listOf("welcome -> ada@example.com"), mailer.sent.toList())
  }

  @Test
  fun contextAndNullnessReadNaturally() {
    WorkQueue.builder("kotlin-context").build().use { queue ->
      queue.start()
      val seen = ConcurrentLinkedQueue<String>()
      val task: Task<String> =
          queue.enqueue(
              Task.ofJob { ctx ->
                    val current = TaskContext.current()
                    assertSame(ctx, current)
                    seen.add("${current.taskName()}#${current.attempt()}")
                    if (current.attempt() == 1) throw IllegalStateException("first try")
                    "ok"
                  }
                  .named("kotlin-task")
                  .retries(2)
                  .backoff(Backoff.none()))
      assertEquals("ok", task.await(TestTimeouts.GENEROUS))
      // Nullable where null is allowed, and nothing else: these compile without !! or casts.
      val error: Throwable? = task.error()
      val next: Instant? = task.nextAttemptAt()
      val name: String = task.name()
      assertEquals("first try", error?.message)
      assertNull(next)
      assertEquals("kotlin-task", name)
      assertEquals(listOf("kotlin-task#1", "kotlin-task#2"), seen.toList())

      val nothing: Task<Void?> = queue.submit { }
      assertNull(nothing.await())
    }
  }

  @Test
  fun failuresAndCancellationSurfaceAsExceptions() = runBlocking {
    WorkQueue.builder("kotlin-failures").build().use { queue ->
      queue.start()
      val failing = queue.enqueue(Task.of { throw NonRetryableException("no") }.retries(3))
      val e = assertThrows(TaskFailedException::class.java) { failing.await() }
      assertTrue(e.cause is NonRetryableException)

      val later = queue.enqueue(Task.of { }.delay(1.hours.toJavaDuration()))
      assertTrue(later.cancel())
      assertThrows(CancellationException::class.java) { runBlocking { later.future().await() } }
      assertEquals(TaskState.CANCELLED, later.state())
    }
  }

  @Test
  fun cancellingTheCoroutineCancelsAllWork() = runBlocking {
    val never = CountDownLatch(1)
    val running = CountDownLatch(2)
    val interrupted = AtomicInteger()
    val body = Work {
      running.countDown()
      try {
        never.await()
      } catch (e: InterruptedException) {
        interrupted.incrementAndGet()
        throw e
      }
    }
    val queue = WorkQueue.builder("coroutine").concurrency(2).build()
    val blockers = List(2) { queue.submit(body) }
    val pending = List(3) { queue.submit { } }
    val waiting = queue.enqueue(Task.of { }.delay(1.hours.toJavaDuration()))

    withTimeout(60.seconds) {
      val owner = launch { runInterruptible(Dispatchers.IO) { queue.run() } }
      runInterruptible(Dispatchers.IO) { running.await() } // the work has started
      owner.cancelAndJoin() // interrupts run(): cancels pending work, interrupts running attempts
      }

    assertTrue(queue.isTerminated, "run() returned")
    assertEquals(2, interrupted.get(), "the running attempts were interrupted")
    (blockers + pending + waiting).forEach { assertEquals(TaskState.CANCELLED, it.state(), it.name()) }
    assertEquals(6, queue.stats().cancelled())
  }
}
