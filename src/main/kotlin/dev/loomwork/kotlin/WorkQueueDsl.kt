package dev.loomwork.kotlin

import dev.loomwork.RetryPolicy
import dev.loomwork.TaskContext
import dev.loomwork.TaskHandler
import dev.loomwork.TaskType
import dev.loomwork.WorkQueue
import dev.loomwork.WorkQueueListener
import io.micrometer.core.instrument.MeterRegistry
import java.time.InstantSource
import java.util.concurrent.ThreadFactory
import java.util.random.RandomGenerator
import kotlin.contracts.ExperimentalContracts
import kotlin.contracts.InvocationKind
import kotlin.contracts.contract
import kotlin.time.Duration
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.Flow

/** Marks loomwork's builder DSL, so that an inner block cannot reach an outer receiver by mistake. */
@DslMarker
public annotation class LoomworkDsl

/**
 * Builds a [WorkQueue]: the Kotlin counterpart of [WorkQueue.builder], with [Duration]s and suspend
 * handlers.
 *
 * ```kotlin
 * val queue = workQueue("outbox") {
 *   concurrency = 16
 *   retryPolicy = RetryPolicy.defaults().withBackoff(exponentialBackoff(100.milliseconds, 30.seconds))
 *   handleSuspending(WELCOME) { ctx, welcome -> mailer.send(welcome.address, ctx.taskId()) }
 * }
 * ```
 *
 * [configure] runs exactly once, in place (the function is `inline`), so it may initialise a `val`
 * declared outside, such as the flow that [WorkQueueSpec.events] returns, a local one or a class's
 * property:
 *
 * ```kotlin
 * class Outbox {
 *   val events: Flow<QueueEvent>
 *   val queue = workQueue("outbox") { events = events() }
 * }
 * ```
 *
 * @param name the queue's name, used in logs, thread names and metrics; not blank
 * @param configure sets the queue's settings; each setter validates its argument at once
 * @return a new queue, not started
 * @throws IllegalArgumentException if a setting is out of range, or two handlers share a name
 */
@OptIn(ExperimentalContracts::class)
public inline fun workQueue(name: String, configure: WorkQueueSpec.() -> Unit = {}): WorkQueue {
  contract { callsInPlace(configure, InvocationKind.EXACTLY_ONCE) }
  val spec = WorkQueueSpec(WorkQueue.builder(name))
  spec.configure()
  return spec.builder.build()
}

/**
 * The settings of a queue that [workQueue] builds; each property starts at the queue's default, and
 * each setter validates its value at once (with the message of the Java builder's setter). Not
 * thread-safe: use it inside the [workQueue] block only.
 */
@LoomworkDsl
public class WorkQueueSpec @PublishedApi internal constructor(@PublishedApi internal val builder: WorkQueue.Builder) {
  /** Attempts in flight at most; [WorkQueue.Builder.concurrency]. */
  public var concurrency: Int = WorkQueue.Builder.DEFAULT_CONCURRENCY
    set(value) {
      builder.concurrency(value)
      field = value
    }

  /** Tasks waiting in the ready queue at most; [WorkQueue.Builder.capacity]. */
  public var capacity: Int = WorkQueue.Builder.DEFAULT_CAPACITY
    set(value) {
      builder.capacity(value)
      field = value
    }

  /** The retry policy of tasks that set none; [WorkQueue.Builder.retryPolicy]. */
  public var retryPolicy: RetryPolicy = RetryPolicy.defaults()
    set(value) {
      builder.retryPolicy(value)
      field = value
    }

  /** The clock of deadlines, not-before and retry times; [WorkQueue.Builder.clock]. */
  public var clock: InstantSource = InstantSource.system()
    set(value) {
      builder.clock(value)
      field = value
    }

  /** How long a cancelling shutdown waits for interrupted attempts; [WorkQueue.Builder.abandonAfter]. */
  public var abandonAfter: Duration = WorkQueue.Builder.DEFAULT_ABANDON_AFTER.toKotlinDuration()
    set(value) {
      builder.abandonAfter(value.toJavaDuration())
      field = value
    }

  /** How often a draining shutdown logs its progress; [WorkQueue.Builder.progressInterval]. */
  public var progressInterval: Duration = WorkQueue.Builder.DEFAULT_PROGRESS_INTERVAL.toKotlinDuration()
    set(value) {
      builder.progressInterval(value.toJavaDuration())
      field = value
    }

  /** Sets the source of backoff jitter; [WorkQueue.Builder.random]. */
  public fun random(random: RandomGenerator) {
    builder.random(random)
  }

  /** Sets the factory of attempt threads; [WorkQueue.Builder.threadFactory]. */
  public fun threadFactory(threadFactory: ThreadFactory) {
    builder.threadFactory(threadFactory)
  }

  /** Publishes the queue's metrics to [registry]; [WorkQueue.Builder.meterRegistry]. */
  public fun meterRegistry(registry: MeterRegistry) {
    builder.meterRegistry(registry)
  }

  /**
   * Sets the histogram buckets of the wait and attempt timers, ascending; [WorkQueue.Builder.timerBuckets].
   * A list, since Kotlin allows no vararg of [Duration].
   */
  public fun timerBuckets(buckets: List<Duration>) {
    builder.timerBuckets(buckets)
  }

  /** Adds a listener; [WorkQueue.Builder.listener]. */
  public fun listener(listener: WorkQueueListener) {
    builder.listener(listener)
  }

  /** Registers a blocking handler for the typed tasks of [type]; [WorkQueue.Builder.handle]. */
  public fun <P> handle(type: TaskType<P>, handler: TaskHandler<in P>) {
    builder.handle(type, handler)
  }

  /** Registers a suspend handler for the typed tasks of [type]; see [WorkQueue.Builder.handleSuspending]. */
  public fun <P> handleSuspending(type: TaskType<P>, handler: suspend CoroutineScope.(TaskContext, P) -> Unit) {
    builder.handleSuspending(type, handler)
  }

  /**
   * Returns the queue's events as a flow that loses none and completes when the queue has
   * terminated; see [WorkQueue.Builder.events].
   */
  public fun events(): Flow<QueueEvent> = builder.events()
}
