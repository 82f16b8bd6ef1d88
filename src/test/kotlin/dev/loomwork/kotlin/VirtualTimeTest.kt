package dev.loomwork.kotlin

import dev.loomwork.TaskState
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.delay
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.currentTime
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.RegisterExtension

/**
 * Issue 13, point 11: `runTest`'s virtual time does not reach loomwork. The queue keeps time on its
 * own scheduler thread, and a suspending body runs on its attempt's thread, so delays, backoffs and
 * timeouts take real time under `runTest`, and advancing virtual time does not move them.
 */
@OptIn(ExperimentalCoroutinesApi::class) // advanceTimeBy, currentTime
class VirtualTimeTest {
  @RegisterExtension val fx = KotlinFixture()

  @Test
  fun advancingVirtualTimeDoesNotRunADelayedTask() = runTest {
    val queue = fx.queue("virtual-delay")
    queue.start()
    val before = System.nanoTime()
    val task = queue.enqueue(suspendingTask { "ran" }.delay(200.milliseconds))
    advanceTimeBy(1.hours)
    assertEquals(3_600_000L, currentTime, "virtual time moved an hour")
    assertEquals(TaskState.WAITING, task.state(), "but the task still waits for its real 200 ms")
    assertEquals("ran", task.awaitSuspending())
    val realMillis = (System.nanoTime() - before) / 1_000_000
    assertTrue(realMillis >= 200, "the delay took real time: $realMillis ms")
  }

  @Test
  fun aDelayInsideABodyTakesRealTime() = runTest {
    val queue = fx.queue("virtual-body")
    queue.start()
    val before = System.nanoTime()
    val task = queue.submitSuspending { delay(100.milliseconds); "slept" }
    assertEquals("slept", task.awaitSuspending())
    assertEquals(0L, currentTime, "the test's virtual clock never moved")
    assertTrue((System.nanoTime() - before) / 1_000_000 >= 100, "the body's delay took real time")
  }
}
