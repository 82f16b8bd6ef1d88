package dev.loomwork.kotlin

import dev.loomwork.AttemptTimeoutException
import dev.loomwork.Backoff
import dev.loomwork.DeadlineExceededException
import dev.loomwork.RetryPolicy
import dev.loomwork.Task
import dev.loomwork.TaskCodec
import dev.loomwork.TaskFailedException
import dev.loomwork.TaskType
import dev.loomwork.WorkQueue
import java.time.Instant
import java.time.InstantSource
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.seconds
import kotlin.time.toJavaDuration
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension

/** Issue 13, point 7: `kotlin.time.Duration` overloads, the `workQueue { }` DSL, and `Task<Unit>`. */
class DurationsAndDslTest {
  @RegisterExtension val fx = KotlinFixture()

  @Test
  fun durationOverloadsEqualTheirJavaCounterparts() {
    assertEquals(Backoff.exponential(java.time.Duration.ofMillis(100), java.time.Duration.ofSeconds(30)),
        exponentialBackoff(100.milliseconds, 30.seconds))
    assertEquals(Backoff.fixed(java.time.Duration.ofSeconds(2)), fixedBackoff(2.seconds))
    assertEquals(Backoff.fixed(java.time.Duration.ZERO).withMax(java.time.Duration.ofMinutes(1)),
        fixedBackoff(Duration.ZERO).withMax(1.minutes))
    assertEquals(java.time.Duration.ofSeconds(10), RetryPolicy.defaults().withAttemptTimeout(10.seconds).attemptTimeout())
    val type = TaskType.of("t", Codec).withAttemptTimeout(3.seconds)
    assertEquals(java.time.Duration.ofSeconds(3), type.attemptTimeout())
    // Validation is the Java method's, with its message.
    val e = expect<IllegalArgumentException> { suspendingTask { }.attemptTimeout(Duration.ZERO) }
    assertEquals("attemptTimeout: PT0S (expected: > 0)", e.message)
  }

  @Test
  fun taskDurationsDoWhatTheJavaOnesDo(): Unit = runBlocking {
    val now = Instant.parse("2026-11-30T12:00:00Z")
    val queue = fx.queue("durations") { clock = InstantSource.fixed(now) }
    queue.start()
    val timedOut = queue.enqueue(suspendingTask { awaitCancellation() }.retries(0).attemptTimeout(20.milliseconds))
    assertInstanceOf(AttemptTimeoutException::class.java, expect<TaskFailedException> { guarded { timedOut.awaitSuspending() } }.cause)
    val late = queue.enqueue(suspendingTask { awaitCancellation() }.retries(0).within(20.milliseconds))
    assertInstanceOf(DeadlineExceededException::class.java, expect<TaskFailedException> { guarded { late.awaitSuspending() } }.cause)
    val delayed = queue.enqueue(suspendingTask { }.delay(2.hours))
    assertEquals(now.plusSeconds(7200), delayed.nextAttemptAt())
    delayed.cancel()
  }

  @Test
  fun theDslSetsEverySetting(): Unit = runBlocking {
    val seen = ConcurrentLinkedQueue<String>()
    val attempts = AtomicInteger()
    val registry = io.micrometer.core.instrument.simple.SimpleMeterRegistry()
    val queue =
        fx.queue("dsl") {
          meterRegistry(registry)
          timerBuckets(listOf(100.milliseconds, 3.seconds))
          concurrency = 3
          capacity = 5
          retryPolicy = RetryPolicy.defaults().withRetries(1).withBackoff(Backoff.none())
          abandonAfter = 2.seconds
          progressInterval = 1.minutes
          clock = InstantSource.system()
          random(java.util.Random(1))
          threadFactory(Thread.ofVirtual().name("dsl-attempt").factory())
          listener(object : dev.loomwork.WorkQueueListener {
            override fun onSucceeded(task: Task<*>) {
              seen.add("succeeded ${task.name()}")
            }
          })
          handle(TaskType.of("blocking", Codec)) { _, payload -> seen.add("blocking $payload") }
          handleSuspending(TaskType.of("suspending", Codec)) { _, payload -> seen.add("suspending $payload") }
          assertEquals(3, concurrency)
          assertEquals(5, capacity)
          assertEquals(2.seconds, abandonAfter)
        }
    queue.start()
    val flaky =
        queue.submitSuspending { ctx ->
          attempts.incrementAndGet()
          check(ctx.attempt() > 1) { "first" }
          Thread.currentThread().name
        }
    // (kotlinx.coroutines' debug mode, on under -ea, appends the coroutine's name to the thread's.)
    val thread = guarded { flaky.awaitSuspending() }
    assertTrue(thread.startsWith("dsl-attempt"), "the thread factory made the attempt thread: $thread")
    assertEquals(2, attempts.get(), "the queue's policy retried once")
    queue.submit(TaskType.of("blocking", Codec), "b").awaitSuspending()
    queue.submit(TaskType.of("suspending", Codec), "s").awaitSuspending()
    queue.shutdownSuspending()
    assertTrue(seen.containsAll(listOf("blocking b", "suspending s")), "$seen")
    assertEquals(3, seen.count { it.startsWith("succeeded") })
    val bounds = registry.get("loomwork.tasks.wait").timer().takeSnapshot().histogramCounts()
        .map { java.time.Duration.ofNanos(it.bucket(java.util.concurrent.TimeUnit.NANOSECONDS).toLong()) }
    assertEquals(listOf(java.time.Duration.ofMillis(100), java.time.Duration.ofSeconds(3)), bounds)
  }

  @Test
  fun theDslValidatesEachSettingAtOnce() {
    assertEquals("concurrency: 0 (expected: >= 1)", expect<IllegalArgumentException> { workQueue("bad") { concurrency = 0 } }.message)
    assertEquals("progressInterval: PT0S (expected: > 0)",
        expect<IllegalArgumentException> { workQueue("bad") { progressInterval = Duration.ZERO } }.message)
    assertEquals("name: ' ' (expected: not blank)", expect<IllegalArgumentException> { workQueue(" ") }.message)
    assertEquals("timerBuckets[1]: PT1S (expected: > timerBuckets[0] PT2S, ascending)",
        expect<IllegalArgumentException> { workQueue("bad") { timerBuckets(listOf(2.seconds, 1.seconds)) } }.message)
  }

  @Test
  fun javaBuilderDurations() {
    val queue = fx.track(
        WorkQueue.builder("java-builder").abandonAfter(1.seconds).progressInterval(2.seconds).timerBuckets(listOf(1.seconds)).build())
    assertNotNull(queue)
  }

  @Test
  fun aUnitBodyMakesATaskOfUnit(): Unit = runBlocking {
    val queue = fx.queue("unit")
    queue.start()
    val task: Task<Unit> = queue.submitSuspending { }
    val result: Unit = guarded { task.awaitSuspending() }
    assertEquals(Unit, result)
    val configured: Task<Unit> = suspendingTask { }.named("unit").retries(2).delay(1.milliseconds)
    assertEquals(Unit, queue.enqueue(configured).awaitSuspending())
    // The Java API's closures stay Task<Void?>: Void? is what a Java body returns.
    val javaTask: Task<Void?> = queue.submit { }
    assertEquals(null, javaTask.awaitSuspending())
    assertEquals(java.time.Duration.ofMillis(1), 1.milliseconds.toJavaDuration())
  }

  private object Codec : TaskCodec<String> {
    override fun encode(payload: String) = "\"$payload\""

    override fun decode(json: String) = json.removeSurrounding("\"")
  }
}
