package dev.loomwork.kotlin

import dev.loomwork.QueueStats
import dev.loomwork.Task
import dev.loomwork.WorkQueue
import dev.loomwork.WorkQueueListener
import dev.loomwork.WorkQueueListener.AttemptOutcome
import java.time.Instant
import java.util.concurrent.atomic.AtomicLong
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
 * buffered until it is collected. The flow completes when the queue has terminated and the terminal
 * event of every task it accepted has been delivered (a shutdown or a cancel publishes those on its
 * own thread, possibly after the queue's owner has terminated). Rejections of tasks submitted after
 * that are not delivered.
 *
 * Collect it once (a second collection throws `IllegalStateException`), and collect it: events pile
 * up in memory until they are collected. Cancelling the collection stops the buffering. Each call
 * registers a listener of its own; call it once per consumer. The listener is called on the queue's
 * threads and never blocks them; the flow may be collected on any dispatcher. One event can arrive
 * after the flow completed and is then dropped: an [QueueEvent.Abandoned] that a shutdown reports
 * for a task whose attempt ended just as the shutdown gave up on it.
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

/** A listener that sends every event to an unlimited channel, and closes it when the queue is done. */
private class EventChannel : WorkQueueListener {
  val channel = Channel<QueueEvent>(Channel.UNLIMITED)
  private val enqueued = AtomicLong()
  private val ended = AtomicLong()
  /** The number of tasks the queue accepted, known once it terminated; -1 until then. */
  @Volatile private var accepted = -1L
  /** Of those, the tasks that end here: all but those handed back to a durable store. */
  @Volatile private var ending = -1L

  private fun send(event: QueueEvent) {
    channel.trySend(event) // fails only once closed, or once the collector cancelled
  }

  /** Every counter is updated after its event is sent, then checked against [accepted]. */
  private fun closeIfDone() {
    val total = accepted
    val ends = ending
    if (total >= 0 && ends >= 0 && enqueued.get() >= total && ended.get() >= ends) channel.close()
  }

  override fun onEnqueued(task: Task<*>) {
    send(QueueEvent.Enqueued(task))
    enqueued.incrementAndGet()
    closeIfDone()
  }

  override fun onRejected(queue: String, task: Task<*>, reason: String) {
    send(QueueEvent.Rejected(queue, task, reason))
  }

  override fun onAttemptStarted(task: Task<*>, attempt: Int, waited: java.time.Duration) {
    send(QueueEvent.AttemptStarted(task, attempt, waited.toKotlinDuration()))
  }

  override fun onAttemptFinished(
      task: Task<*>,
      attempt: Int,
      outcome: AttemptOutcome,
      duration: java.time.Duration,
      error: Throwable?,
  ) {
    send(QueueEvent.AttemptFinished(task, attempt, outcome, duration.toKotlinDuration(), error))
  }

  override fun onRetryScheduled(task: Task<*>, error: Throwable, nextAttemptAt: Instant) {
    send(QueueEvent.RetryScheduled(task, error, nextAttemptAt))
  }

  override fun onSucceeded(task: Task<*>) = taskEnded(QueueEvent.Succeeded(task))

  override fun onFailed(task: Task<*>, error: Throwable) = taskEnded(QueueEvent.Failed(task, error))

  override fun onCancelled(task: Task<*>) = taskEnded(QueueEvent.Cancelled(task))

  private fun taskEnded(event: QueueEvent) {
    send(event)
    ended.incrementAndGet()
    closeIfDone()
  }

  override fun onAbandoned(task: Task<*>) {
    send(QueueEvent.Abandoned(task))
  }

  override fun onTerminated(queue: String, stats: QueueStats) {
    ending = stats.submitted() - stats.handedBack()
    accepted = stats.submitted()
    closeIfDone()
  }
}
