package dev.loomwork.kotlin

import dev.loomwork.QueueStats
import dev.loomwork.Task
import dev.loomwork.WorkQueue
import dev.loomwork.WorkQueueListener
import dev.loomwork.WorkQueueListener.AttemptOutcome
import java.time.Instant
import kotlin.time.Duration
import kotlin.time.toKotlinDuration
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.consumeAsFlow

/**
 * One event of a queue, as a [WorkQueueListener] receives it; see [WorkQueue.Builder.events]. Each
 * kind mirrors the listener method of the same name.
 */
public sealed interface QueueEvent {
  /** The task the event is about. */
  public val task: Task<*>

  /** [WorkQueueListener.onEnqueued]: the task was accepted. */
  public data class Enqueued(override val task: Task<*>) : QueueEvent

  /** [WorkQueueListener.onRejected]: the task was refused, for [reason]. */
  public data class Rejected(public val queue: String, override val task: Task<*>, public val reason: String) : QueueEvent

  /** [WorkQueueListener.onAttemptStarted]: attempt number [attempt] started, [waited] after the task became ready. */
  public data class AttemptStarted(override val task: Task<*>, public val attempt: Int, public val waited: Duration) : QueueEvent

  /** [WorkQueueListener.onAttemptFinished]: attempt number [attempt] ended as [outcome] after [duration]. */
  public data class AttemptFinished(
      override val task: Task<*>,
      public val attempt: Int,
      public val outcome: AttemptOutcome,
      public val duration: Duration,
      public val error: Throwable?,
  ) : QueueEvent

  /** [WorkQueueListener.onRetryScheduled]: the task failed with [error] and runs again at [nextAttemptAt]. */
  public data class RetryScheduled(override val task: Task<*>, public val error: Throwable, public val nextAttemptAt: Instant) :
      QueueEvent

  /** [WorkQueueListener.onSucceeded]. */
  public data class Succeeded(override val task: Task<*>) : QueueEvent

  /** [WorkQueueListener.onFailed]: the task failed for good with [error]. */
  public data class Failed(override val task: Task<*>, public val error: Throwable) : QueueEvent

  /** [WorkQueueListener.onCancelled]. */
  public data class Cancelled(override val task: Task<*>) : QueueEvent

  /** [WorkQueueListener.onAbandoned]: a shutdown gave up waiting for the task's attempt. */
  public data class Abandoned(override val task: Task<*>) : QueueEvent
}

/**
 * Registers a listener on this builder and returns its events as a [Flow]. Because the listener is
 * registered before the queue is built, the flow loses no event: every event from the first on is
 * buffered until it is collected. The flow completes with the queue's last event,
 * [WorkQueueListener.onTerminated], which comes after every other event of the queue (on a durable
 * queue too); rejections of tasks submitted after that are not delivered.
 *
 * Collect it once (a second collection throws `IllegalStateException`), and collect it: events pile
 * up in memory until they are collected. Cancelling the collection stops the buffering. Each call
 * registers a listener of its own; call it once per consumer. The listener is called on the queue's
 * threads and never blocks them; the flow may be collected on any dispatcher.
 *
 * The events of one task arrive in the order they happened (see [WorkQueueListener]): `Enqueued`
 * first, each attempt's start and end, a retry before the next attempt, the terminal event last; a
 * collector may key its state on `Enqueued`. Events of different tasks interleave.
 *
 * @return the queue's events, in the order the listener received them
 */
public fun WorkQueue.Builder.events(): Flow<QueueEvent> {
  val events = EventChannel()
  listener(events)
  return events.channel.consumeAsFlow()
}

/** A listener that sends every event to an unlimited channel, and closes it on the queue's last event. */
private class EventChannel : WorkQueueListener {
  val channel = Channel<QueueEvent>(Channel.UNLIMITED)

  private fun send(event: QueueEvent) {
    channel.trySend(event) // fails only once closed, or once the collector cancelled
  }

  override fun onEnqueued(task: Task<*>) = send(QueueEvent.Enqueued(task))

  override fun onRejected(queue: String, task: Task<*>, reason: String) =
      send(QueueEvent.Rejected(queue, task, reason))

  override fun onAttemptStarted(task: Task<*>, attempt: Int, waited: java.time.Duration) =
      send(QueueEvent.AttemptStarted(task, attempt, waited.toKotlinDuration()))

  override fun onAttemptFinished(
      task: Task<*>,
      attempt: Int,
      outcome: AttemptOutcome,
      duration: java.time.Duration,
      error: Throwable?,
  ) = send(QueueEvent.AttemptFinished(task, attempt, outcome, duration.toKotlinDuration(), error))

  override fun onRetryScheduled(task: Task<*>, error: Throwable, nextAttemptAt: Instant) =
      send(QueueEvent.RetryScheduled(task, error, nextAttemptAt))

  override fun onSucceeded(task: Task<*>) = send(QueueEvent.Succeeded(task))

  override fun onFailed(task: Task<*>, error: Throwable) = send(QueueEvent.Failed(task, error))

  override fun onCancelled(task: Task<*>) = send(QueueEvent.Cancelled(task))

  override fun onAbandoned(task: Task<*>) = send(QueueEvent.Abandoned(task))

  /** The queue's last event, by construction (see [WorkQueueListener.onTerminated]): nothing follows. */
  override fun onTerminated(queue: String, stats: QueueStats) {
    channel.close()
  }
}
