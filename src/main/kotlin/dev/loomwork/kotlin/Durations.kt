package dev.loomwork.kotlin

import dev.loomwork.Backoff
import dev.loomwork.RetryPolicy
import dev.loomwork.Task
import dev.loomwork.TaskType
import dev.loomwork.WorkQueue
import kotlin.time.Duration
import kotlin.time.toJavaDuration

// kotlin.time.Duration overloads of the settings that take a java.time.Duration. Each converts and
// calls the Java method, which validates as usual. None of them waits: every function of this
// package that waits for a Duration suspends instead of blocking.

/** [Task.attemptTimeout] with a [kotlin.time.Duration]. */
public fun <T> Task<T>.attemptTimeout(timeout: Duration): Task<T> = attemptTimeout(timeout.toJavaDuration())

/** [Task.within] with a [kotlin.time.Duration]. */
public fun <T> Task<T>.within(within: Duration): Task<T> = within(within.toJavaDuration())

/** [Task.delay] with a [kotlin.time.Duration]. */
public fun <T> Task<T>.delay(delay: Duration): Task<T> = delay(delay.toJavaDuration())

/** [RetryPolicy.withAttemptTimeout] with a [kotlin.time.Duration]. */
public fun RetryPolicy.withAttemptTimeout(attemptTimeout: Duration): RetryPolicy =
    withAttemptTimeout(attemptTimeout.toJavaDuration())

/** [TaskType.withAttemptTimeout] with a [kotlin.time.Duration]. */
public fun <P> TaskType<P>.withAttemptTimeout(timeout: Duration): TaskType<P> =
    withAttemptTimeout(timeout.toJavaDuration())

/** [Backoff.withMax] with a [kotlin.time.Duration]. */
public fun Backoff.withMax(max: Duration): Backoff = withMax(max.toJavaDuration())

/**
 * [Backoff.exponential] with [kotlin.time.Duration]s: doubles from [initial] up to [max], with ± 20 %
 * jitter.
 */
public fun exponentialBackoff(initial: Duration, max: Duration): Backoff =
    Backoff.exponential(initial.toJavaDuration(), max.toJavaDuration())

/** [Backoff.fixed] with a [kotlin.time.Duration]: the same delay before every retry. */
public fun fixedBackoff(delay: Duration): Backoff = Backoff.fixed(delay.toJavaDuration())

/** [WorkQueue.Builder.abandonAfter] with a [kotlin.time.Duration]. */
public fun WorkQueue.Builder.abandonAfter(abandonAfter: Duration): WorkQueue.Builder =
    abandonAfter(abandonAfter.toJavaDuration())

/** [WorkQueue.Builder.progressInterval] with a [kotlin.time.Duration]. */
public fun WorkQueue.Builder.progressInterval(progressInterval: Duration): WorkQueue.Builder =
    progressInterval(progressInterval.toJavaDuration())

/** [WorkQueue.Builder.timerBuckets] with Kotlin durations, as a list (Kotlin allows no vararg of [Duration]). */
public fun WorkQueue.Builder.timerBuckets(buckets: List<Duration>): WorkQueue.Builder =
    timerBuckets(*Array(buckets.size) { buckets[it].toJavaDuration() })
