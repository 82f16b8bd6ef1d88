package dev.loomwork.kotlin

import dev.loomwork.TestTimeouts
import dev.loomwork.WorkQueue
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.contracts.ExperimentalContracts
import kotlin.contracts.InvocationKind
import kotlin.contracts.contract
import kotlin.time.Duration
import kotlin.time.toKotlinDuration
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.extension.AfterEachCallback
import org.junit.jupiter.api.extension.ExtensionContext

/** The suite's generous timeout (a hang guard, never a timing assertion), as a Kotlin duration. */
val GENEROUS: Duration = TestTimeouts.GENEROUS.toKotlinDuration()

/** Fails the test if [block] takes longer than the generous timeout: a hang, not a slow machine. */
suspend fun <T> guarded(block: suspend () -> T): T = withTimeout(GENEROUS) { block() }

/** Waits for [latch] on the calling thread, failing after the generous timeout. */
fun CountDownLatch.awaitOrFail(what: String) {
  assertTrue(await(TestTimeouts.GENEROUS_SECONDS, TimeUnit.SECONDS), "timed out waiting until $what")
}

/**
 * The queues and gates of a Kotlin test: every queue it built is shut down after the test, and every
 * gate opened, so no body stays blocked and no thread outlives the test (the leak check would fail it).
 *
 * `@RegisterExtension val fx = KotlinFixture()`
 */
class KotlinFixture : AfterEachCallback {
  private val queues = CopyOnWriteArrayList<WorkQueue>()
  private val gates = CopyOnWriteArrayList<CompletableDeferred<Unit>>()
  private val latches = CopyOnWriteArrayList<CountDownLatch>()

  /** Keeps [queue] to shut it down after the test. */
  fun track(queue: WorkQueue): WorkQueue = queue.also { queues.add(it) }

  /** A queue built by the DSL, shut down after the test; [configure] runs in place, as [workQueue]'s. */
  @OptIn(ExperimentalContracts::class)
  fun queue(name: String, configure: WorkQueueSpec.() -> Unit = {}): WorkQueue {
    contract { callsInPlace(configure, InvocationKind.EXACTLY_ONCE) }
    return track(workQueue(name, configure))
  }

  /** A gate a suspending body waits on; opened after the test if the test did not. */
  fun gate(): CompletableDeferred<Unit> = CompletableDeferred<Unit>().also { gates.add(it) }

  /** A latch a blocking body waits on; opened after the test if the test did not. */
  fun latch(count: Int = 1): CountDownLatch = CountDownLatch(count).also { latches.add(it) }

  override fun afterEach(context: ExtensionContext) {
    gates.forEach { it.complete(Unit) }
    latches.forEach { while (it.count > 0) it.countDown() }
    for (queue in queues) {
      queue.shutdownNow()
      queue.shutdown() // returns once terminated: no attempt thread outlives the test
    }
  }
}

/**
 * Runs [block] (inline, so it may suspend) and returns what it threw, failing unless it threw an [E].
 */
inline fun <reified E : Throwable> expect(block: () -> Unit): E {
  val thrown =
      try {
        block()
        null
      } catch (e: Throwable) {
        e
      }
  return org.junit.jupiter.api.Assertions.assertInstanceOf(E::class.java, thrown, "what was thrown")
}

/** Yields until [condition] holds, failing after the generous timeout; for states no event announces. */
suspend fun awaitUntil(what: String, condition: () -> Boolean) {
  val done = kotlinx.coroutines.withTimeoutOrNull(GENEROUS) {
    while (!condition()) kotlinx.coroutines.yield()
  }
  org.junit.jupiter.api.Assertions.assertNotNull(done, "timed out waiting until $what")
}
