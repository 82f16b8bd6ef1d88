package dev.loomwork.bench

import dev.loomwork.Task
import dev.loomwork.WorkQueue
import dev.loomwork.kotlin.enqueueSuspending
import java.util.concurrent.TimeUnit
import kotlin.coroutines.Continuation
import kotlin.coroutines.EmptyCoroutineContext
import kotlin.coroutines.intrinsics.COROUTINE_SUSPENDED
import kotlin.coroutines.intrinsics.startCoroutineUninterceptedOrReturn
import org.openjdk.jmh.annotations.Benchmark
import org.openjdk.jmh.annotations.BenchmarkMode
import org.openjdk.jmh.annotations.Fork
import org.openjdk.jmh.annotations.Level
import org.openjdk.jmh.annotations.Measurement
import org.openjdk.jmh.annotations.Mode
import org.openjdk.jmh.annotations.OutputTimeUnit
import org.openjdk.jmh.annotations.Scope
import org.openjdk.jmh.annotations.Setup
import org.openjdk.jmh.annotations.State
import org.openjdk.jmh.annotations.TearDown
import org.openjdk.jmh.annotations.Warmup

/**
 * The cost of a suspending enqueue when the queue has room (issue 23, point 9): `enqueueSuspending`
 * against its baseline, the blocking `enqueue`, in the same run. Each operation enqueues one trivial
 * task into a queue that is never started and has room for every task of an iteration, so neither
 * call ever waits: this is the fast path, which must cost within 3× of `enqueue`.
 *
 * The suspending call is started the way a coroutine calls it, without a dispatcher: the function is
 * invoked with a completion that fails the benchmark if it is ever resumed (it would mean the call
 * suspended). The shape is `LoomworkBenchmarks.enqueue_1producer`'s: a fresh queue per iteration, which
 * is one batch of [BATCH] calls (single-shot mode, so the queue's memory stays bounded and its
 * shutdown is untimed); the score is microseconds per batch. Kotlin benchmark class: JMH's annotation processor, which runs in javac, is handed its
 * class name (see benchmarks/pom.xml), so it must be `open` (JMH subclasses it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 40, batchSize = KotlinEnqueue.BATCH)
@Measurement(iterations = 60, batchSize = KotlinEnqueue.BATCH)
@Fork(
    value = 2,
    jvmArgs =
        [
            "--enable-preview",
            "--sun-misc-unsafe-memory-access=allow",
            "-Xms2g",
            "-Xmx2g",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        ])
open class KotlinEnqueue {
  private lateinit var queue: WorkQueue

  @Setup(Level.Iteration)
  fun newQueue() {
    queue = WorkQueue.builder("kotlin-enqueue").capacity(Int.MAX_VALUE).build()
  }

  @TearDown(Level.Iteration)
  fun dropQueue() {
    queue.shutdownNow() // never started: cancels what this iteration enqueued
  }

  /** The baseline: the blocking enqueue, with room. */
  @Benchmark
  fun enqueue(): Task<*> = queue.enqueue(Task.of(NOTHING))

  /** The suspending enqueue, with room: must not suspend, dispatch or start a thread. */
  @Benchmark
  fun enqueueSuspending(): Any? {
    val task = Task.of(NOTHING)
    val call: suspend () -> Task<*> = { queue.enqueueSuspending(task) }
    val result = call.startCoroutineUninterceptedOrReturn(NEVER_RESUMED)
    check(result !== COROUTINE_SUSPENDED) { "enqueueSuspending suspended although the queue had room" }
    return result
  }

  companion object {
    /** Calls per measured batch. */
    const val BATCH = 10_000

    private val NOTHING = dev.loomwork.Work { _ -> }

    private val NEVER_RESUMED =
        object : Continuation<Any?> {
          override val context = EmptyCoroutineContext

          override fun resumeWith(result: Result<Any?>) {
            throw AssertionError("the fast path never resumes a continuation: $result")
          }
        }
  }
}
