package dev.loomwork

import java.io.IOException
import java.io.StringReader
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ConcurrentLinkedQueue
import kotlinx.serialization.KSerializer
import kotlinx.serialization.Serializable
import kotlinx.serialization.json.Json
import kotlinx.serialization.serializer
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Test

/** A [TaskCodec] over kotlinx.serialization's JSON, for any type it has a serializer for. */
private class KotlinxJsonCodec<P>(private val serializer: KSerializer<P>, private val format: Json) : TaskCodec<P> {
  override fun encode(payload: P): String = format.encodeToString(serializer, payload)

  override fun decode(json: String): P = format.decodeFromString(serializer, json)
}

/** The codec of a `@Serializable` type: `TaskType.of("email.welcome", jsonCodec<Welcome>())`. */
private inline fun <reified P> jsonCodec(format: Json = Json): TaskCodec<P> = KotlinxJsonCodec(serializer<P>(), format)

/** Typed tasks the way a Kotlin service writes them: a `@Serializable` payload and trailing-lambda handlers. */
class TypedTasksKotlinTest {
  @Serializable
  data class Welcome(val address: String, val locale: String = "en", val tags: List<String> = emptyList())

  private companion object {
    val WELCOME: TaskType<Welcome> = TaskType.of("email.welcome", jsonCodec<Welcome>())
    val NO_BACKOFF: RetryPolicy = RetryPolicy.defaults().withBackoff(Backoff.none())
  }

  @Test
  fun aHandlerGetsTheDecodedPayload() {
    val received = ConcurrentLinkedQueue<Welcome>()
    WorkQueue.builder("kotlin-typed")
        .handle(WELCOME) { _, welcome -> received.add(welcome) }
        .build()
        .use { queue ->
          queue.start()
          val welcome = Welcome("ada@example.com", tags = listOf("beta", "émoji ✓"))
          val task: Task<Void?> = queue.submit(WELCOME, welcome)
          assertNull(task.await(TestTimeouts.GENEROUS), "a typed task has no result")
          assertEquals(TaskState.SUCCEEDED, task.state())
          assertEquals(listOf(welcome), received.toList())
        }
  }

  @Test
  fun aRetryKeepsTheTaskId() {
    val ids = ConcurrentLinkedQueue<String>()
    WorkQueue.builder("kotlin-retry")
        .retryPolicy(NO_BACKOFF)
        .handle(WELCOME) { ctx, welcome ->
          ids.add(ctx.taskId())
          if (ctx.attempt() == 1) throw IOException("451 greylisted: ${welcome.address}")
        }
        .build()
        .use { queue ->
          queue.start()
          val task = queue.enqueue(Task.of(WELCOME, Welcome("bob@example.com")).named("welcome-bob").retries(1))
          task.await(TestTimeouts.GENEROUS)
          assertEquals(2, task.attempts())
          assertEquals("welcome-bob", task.name())
          assertEquals("451 greylisted: bob@example.com", task.error()?.message)
          assertEquals(2, ids.size)
          assertEquals(1, ids.toSet().size, "one id on every attempt: $ids")
        }
  }

  @Test
  fun aShutdownReportIsRequeuedIntoASecondQueueWithEqualPayloads() {
    val sent = listOf(
        Welcome("ada@example.com"),
        Welcome("bob@example.com", locale = "fr"),
        Welcome("cy@example.com", tags = listOf("a \"quoted\" tag", "line\nbreak")))
    // Never started: its shutdown cancels every task, and the report carries their payloads.
    val first = WorkQueue.builder("kotlin-first")
        .handle(WELCOME) { _, _ -> error("the first queue never runs a task") }
        .build()
    val tasks = sent.map { first.submit(WELCOME, it) }
    val report = first.shutdownNow()
    tasks.forEach { assertEquals(TaskState.CANCELLED, it.state()) }
    assertEquals(sent.map { Json.encodeToString(it) }.toSet(), report.cancelled().map { it.payload() }.toSet())

    val received = ConcurrentHashMap<String, Welcome>()
    WorkQueue.builder("kotlin-second")
        .handle(WELCOME) { ctx, welcome -> received[ctx.taskId()] = welcome }
        .build()
        .use { second ->
          val result = second.requeue(StringReader(report.toJsonLines()))
          assertEquals(RequeueResult(3, 0, 0, listOf()), result)
        } // close() starts the queue and drains it
    assertEquals(report.cancelled().map { it.id() }.toSet(), received.keys, "each task kept its id")
    assertEquals(sent.toSet(), received.values.toSet())
  }
}
