package dev.loomwork

import io.kotest.property.Arb
import io.kotest.property.PropTestConfig
import io.kotest.property.arbitrary.constant
import io.kotest.property.arbitrary.long
import io.kotest.property.checkAll
import java.time.Duration
import java.util.Random
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test

/**
 * The queue as a state machine, driven by random operation sequences: tasks whose attempts succeed,
 * throw, throw a non-retryable failure, run past their timeout, or ignore interruption; cancels of
 * random tasks; a start at a random point; and a shutdown in a random mode at a random point.
 *
 * Each sequence is generated from one seed. A failure names its seed; replay it alone with
 * `-Dloomwork.prop.seed=SEED`. `-Dloomwork.prop.iterations=N` runs more sequences.
 */
class QueuePropertyTest {
  private val iterations = System.getProperty("loomwork.prop.iterations")?.toInt() ?: 200
  private val replay = System.getProperty("loomwork.prop.seed")?.toLong()

  @Test
  fun randomOperationSequencesKeepEveryPromise() = runBlocking {
    val seeds = if (replay != null) Arb.constant(replay) else Arb.long()
    val stats = Totals()
    checkAll(PropTestConfig(iterations = if (replay != null) 1 else iterations), seeds) { seed ->
      Scenario(seed).run(stats)
    }
    println("QueuePropertyTest: $stats")
    assertEquals(if (replay != null) 1 else iterations, stats.sequences.get())
  }

  /** What all sequences did, printed at the end so a run's coverage is visible. */
  private class Totals {
    val sequences = AtomicInteger()
    val operations = AtomicLong()
    val accepted = AtomicLong()
    val rejected = AtomicLong()
    val cancels = AtomicLong()
    val attempts = AtomicLong()
    val abandoned = AtomicLong()
    val byState = ConcurrentHashMap<TaskState, AtomicLong>()
    val byMode = ConcurrentHashMap<String, AtomicLong>()

    /** Adds one driven sequence: its tasks, refusals, abandoned attempts and end states. */
    fun record(planned: List<Planned>, report: ShutdownReport) {
      sequences.incrementAndGet()
      val acceptedTasks = planned.filter { it.accepted }
      accepted.addAndGet(acceptedTasks.size.toLong())
      rejected.addAndGet(planned.count { it.refused }.toLong())
      abandoned.addAndGet(report.abandoned().size.toLong())
      for (p in acceptedTasks) {
        attempts.addAndGet(p.task.attempts().toLong())
        byState.computeIfAbsent(p.task.state()) { AtomicLong() }.incrementAndGet()
      }
    }

    override fun toString() =
        "${sequences.get()} sequences, ${operations.get()} operations, ${accepted.get()} tasks accepted, " +
            "${rejected.get()} refused, ${cancels.get()} cancels, ${attempts.get()} attempts, " +
            "${abandoned.get()} abandoned; end states ${byState.toSortedMap()}; shutdown modes $byMode"
  }

  private enum class Behaviour { SUCCEED, THROW, NON_RETRYABLE, TIME_OUT, IGNORE_INTERRUPT }

  private enum class Mode { DRAIN, DEADLINE, NOW }

  /** One task of a sequence, and everything the test observed about it. */
  private class Planned(val index: Int, val retries: Int, val behaviours: List<Behaviour>) {
    val name = "t$index"
    val bodyStarts = AtomicInteger()
    val afterCalls = AtomicInteger()
    val terminalEvents = AtomicInteger()
    val listenerStarts = AtomicInteger()
    @Volatile var accepted = false
    @Volatile var refused = false
    @Volatile var cancelledByTest = false
    @Volatile var startsWhenCancelled = -1
    lateinit var task: Task<*>
  }

  /** One sequence, generated from its seed, and the driving of a queue through it. */
  private class Scenario(val seed: Long) {
    private val rnd = Random(seed)
    private val concurrency = 1 + rnd.nextInt(6)
    private val capacity = 1 + rnd.nextInt(30)
    val mode = Mode.entries[rnd.nextInt(3)]
    private val startEarly = rnd.nextBoolean()
    val planned =
        List(1 + rnd.nextInt(20)) { i ->
          val retries = rnd.nextInt(3)
          Planned(i, retries, List(retries + 1) { behaviour() })
        }
    private val shutdownAt = rnd.nextInt(planned.size + 1)
    private val stubbornRelease = CountDownLatch(1)

    private fun behaviour(): Behaviour {
      val r = rnd.nextInt(100)
      return when {
        r < 45 -> Behaviour.SUCCEED
        r < 75 -> Behaviour.THROW
        r < 85 -> Behaviour.NON_RETRYABLE
        r < 95 -> Behaviour.TIME_OUT
        else -> Behaviour.IGNORE_INTERRUPT
      }
    }

    /** Fails naming the seed to replay, unless [condition] holds. */
    fun check(condition: Boolean, message: () -> String) {
      if (!condition) fail<Unit>("seed $seed (replay with -Dloomwork.prop.seed=$seed): ${message()}")
    }

    val byName = planned.associateBy { it.name }

    private val listener =
        object : WorkQueueListener {
          override fun onAttemptStarted(task: Task<*>, attempt: Int, waited: Duration) {
            byName.getValue(task.name()).listenerStarts.incrementAndGet()
          }

          override fun onSucceeded(task: Task<*>) = terminal(task)

          override fun onFailed(task: Task<*>, error: Throwable) = terminal(task)

          override fun onCancelled(task: Task<*>) = terminal(task)

          private fun terminal(task: Task<*>) {
            byName.getValue(task.name()).terminalEvents.incrementAndGet()
          }
        }

    private fun task(p: Planned): Task<*> {
      val body = Work { ctx ->
        p.bodyStarts.incrementAndGet()
        when (p.behaviours[ctx.attempt() - 1]) {
          Behaviour.SUCCEED -> {}
          Behaviour.THROW -> throw IllegalStateException("attempt ${ctx.attempt()} of ${p.name}")
          Behaviour.NON_RETRYABLE -> throw NonRetryableException("permanent ${p.name}")
          Behaviour.TIME_OUT -> CountDownLatch(1).await() // until the timeout interrupts it
          Behaviour.IGNORE_INTERRUPT -> {
            // Ignores interruption, for a bounded time: long enough to be abandoned by a shutdown.
            val end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(60)
            while (System.nanoTime() < end && stubbornRelease.count > 0) {
              try {
                stubbornRelease.await(end - System.nanoTime(), TimeUnit.NANOSECONDS)
              } catch (e: InterruptedException) {
                // ignored on purpose
              }
            }
          }
        }
      }
      val t = Task.of(body).named(p.name).retries(p.retries).backoff(Backoff.fixed(Duration.ofMillis(rnd.nextInt(3).toLong())))
      if (Behaviour.TIME_OUT in p.behaviours) t.attemptTimeout(Duration.ofMillis(10))
      t.after { p.afterCalls.incrementAndGet() }
      return t
    }

    /** Drives a queue through the sequence, then checks every promise it made. */
    fun run(totals: Totals) {
      val queue =
          WorkQueue.builder("prop-$seed")
              .concurrency(concurrency)
              .capacity(capacity)
              .abandonAfter(Duration.ofMillis(20))
              .listener(listener)
              .build()
      val driven =
          try {
            drive(queue, totals)
          } finally {
            stubbornRelease.countDown()
            queue.shutdownNow()
          }
      Checker(this, queue, driven.report, driven.offeredFull).checkAll(totals)
    }

    class Driven(val report: ShutdownReport, val offeredFull: Int)

    /** Starts the queue early or halfway, submits each task, cancels now and then, shuts down. */
    private fun drive(queue: WorkQueue, totals: Totals): Driven {
      var started = false
      var report: ShutdownReport? = null
      var offeredFull = 0
      if (startEarly) {
        queue.start()
        started = true
      }
      for (p in planned) {
        if (p.index == shutdownAt) {
          report = shutDown(queue, totals)
        }
        if (!started && report == null && p.index == planned.size / 2) {
          queue.start()
          started = true
        }
        p.task = task(p)
        totals.operations.incrementAndGet()
        if (submit(queue, p, started, report != null)) offeredFull++
        check(report == null || !p.accepted) { "${p.name} accepted after shutdown" }
        maybeCancelAnEarlierTask(p, totals)
      }
      return Driven(report ?: shutDown(queue, totals), offeredFull)
    }

    /** Offers or enqueues the task; returns whether an offer found the queue full. */
    private fun submit(queue: WorkQueue, p: Planned, started: Boolean, shutDown: Boolean): Boolean {
      try {
        val accepted =
            when {
              // A blocking enqueue on a queue that nobody runs could wait forever: offer then.
              !started || rnd.nextInt(3) == 0 -> queue.offer(p.task)
              rnd.nextBoolean() -> queue.offer(p.task, Duration.ofMillis(1))
              else -> {
                queue.enqueue(p.task)
                true
              }
            }
        if (accepted) p.accepted = true else p.refused = true
        return !accepted
      } catch (e: RejectedExecutionException) {
        check(shutDown) { "${p.name} rejected before shutdown: $e" }
        check(e.message!!.contains("prop-$seed")) { "rejection names the queue: ${e.message}" }
        p.refused = true
        return false
      }
    }

    /** Now and then, cancels a random task submitted so far. */
    private fun maybeCancelAnEarlierTask(p: Planned, totals: Totals) {
      if (rnd.nextInt(5) != 0) return
      val victim = planned[rnd.nextInt(p.index + 1)]
      if (!victim.accepted) return
      totals.operations.incrementAndGet()
      totals.cancels.incrementAndGet()
      val starts = victim.bodyStarts.get()
      if (victim.task.cancel()) {
        victim.cancelledByTest = true
        victim.startsWhenCancelled = starts
      }
    }

    private fun shutDown(queue: WorkQueue, totals: Totals): ShutdownReport {
      totals.operations.incrementAndGet()
      totals.byMode.computeIfAbsent(mode.name) { AtomicLong() }.incrementAndGet()
      return when (mode) {
        Mode.DRAIN -> {
          queue.shutdown()
          check(queue.isTerminated) { "terminated after shutdown()" }
          check(queue.stats().outstanding() == 0L) { "nothing outstanding after shutdown()" }
          ShutdownReport(queue.name(), "", java.time.Instant.EPOCH, 0, 0, listOf(), listOf(), Duration.ZERO)
        }
        Mode.DEADLINE -> queue.shutdown(Duration.ofMillis(rnd.nextInt(40).toLong()))
        Mode.NOW -> queue.shutdownNow()
      }
    }
  }

  /** The promises the queue made about one driven sequence, checked once its tasks are done. */
  private class Checker(
      private val s: Scenario,
      private val queue: WorkQueue,
      private val report: ShutdownReport,
      private val offeredFull: Int,
  ) {
    private val accepted = s.planned.filter { it.accepted }

    private fun check(condition: Boolean, message: () -> String) = s.check(condition, message)

    /** Waits for the accepted tasks to end, adds the sequence to [totals], checks everything. */
    fun checkAll(totals: Totals) {
      awaitEveryAcceptedTask()
      totals.record(s.planned, report)
      val stats = queue.stats()
      check(stats.submitted() == accepted.size.toLong()) { "submitted ${stats.submitted()} vs accepted ${accepted.size}" }
      check(stats.rejected() == s.planned.count { it.refused }.toLong()) { "rejected ${stats.rejected()} (offers refused when full: $offeredFull)" }
      check(stats.outstanding() == 0L) { "outstanding after the end: $stats" }
      for (p in s.planned) {
        if (p.accepted) checkTask(p) else checkRefused(p)
      }
      // The listener's counts match the tasks' states, and the queue's own counts.
      fun count(state: TaskState) = accepted.count { it.task.state() == state }.toLong()
      check(stats.succeeded() == count(TaskState.SUCCEEDED)) { "succeeded: $stats" }
      check(stats.failed() == count(TaskState.FAILED)) { "failed: $stats" }
      check(stats.cancelled() == count(TaskState.CANCELLED)) { "cancelled: $stats" }
      checkTheReport()
    }

    /** Abandoned attempts end by themselves; then every accepted task is done. */
    private fun awaitEveryAcceptedTask() {
      for (p in accepted) {
        try {
          p.task.future().handle { _, _ -> null }.get(TestTimeouts.GENEROUS_SECONDS, TimeUnit.SECONDS)
        } catch (e: java.util.concurrent.TimeoutException) {
          fail<Unit>("seed ${s.seed}: ${p.name} never finished: ${p.task}")
        }
      }
    }

    private fun checkRefused(p: Planned) {
      val t = p.task
      check(t.state() == TaskState.NEW && p.afterCalls.get() == 0 && p.bodyStarts.get() == 0) {
        "${p.name} was refused but is ${t.state()}, after=${p.afterCalls}, starts=${p.bodyStarts}"
      }
    }

    private fun checkTask(p: Planned) {
      val t = p.task
      // Exactly one terminal state, reached once; the after-callback ran exactly once.
      check(t.state().isTerminal) { "${p.name} is ${t.state()}" }
      check(p.afterCalls.get() == 1) { "${p.name} after-callback ran ${p.afterCalls} times" }
      check(p.terminalEvents.get() == 1) { "${p.name} had ${p.terminalEvents} terminal events" }
      // Attempts never exceed retries + 1, and each started attempt ran the body once.
      check(t.attempts() <= p.retries + 1) { "${p.name}: ${t.attempts()} attempts, retries ${p.retries}" }
      check(p.bodyStarts.get() == t.attempts()) { "${p.name}: body ran ${p.bodyStarts} times, attempts ${t.attempts()}" }
      check(p.listenerStarts.get() == t.attempts()) { "${p.name}: ${p.listenerStarts} start events, attempts ${t.attempts()}" }
      if (p.cancelledByTest) checkCancelledByTest(p)
      checkTheOutcomeFollowsThePlan(p)
    }

    private fun checkCancelledByTest(p: Planned) {
      val t = p.task
      // No attempt starts after a successful cancel (the one running then may finish).
      check(p.bodyStarts.get() <= p.startsWhenCancelled + 1) {
        "${p.name}: ${p.bodyStarts} starts, ${p.startsWhenCancelled} when cancelled"
      }
      // Cancelled, unless its running attempt returned normally first.
      check(t.state() == TaskState.CANCELLED || t.state() == TaskState.SUCCEEDED) {
        "${p.name} was cancelled but ended ${t.state()}"
      }
    }

    private fun checkTheOutcomeFollowsThePlan(p: Planned) {
      val t = p.task
      if (t.state() == TaskState.SUCCEEDED) {
        val last = p.behaviours[t.attempts() - 1]
        check(last == Behaviour.SUCCEED || last == Behaviour.IGNORE_INTERRUPT) { "${p.name} succeeded on $last" }
      }
      if (t.state() == TaskState.FAILED) {
        val last = p.behaviours[t.attempts() - 1]
        val retriesLeft = t.attempts() <= p.retries
        check(!retriesLeft || last == Behaviour.NON_RETRYABLE) { "${p.name} failed on $last with retries left" }
        check(t.error() != null) { "${p.name} failed without an error" }
      }
    }

    /** The report accounts for every task the shutdown cut, and for nothing else. */
    private fun checkTheReport() {
      val reported = report.cancelled().map { it.name() } + report.abandoned().map { it.name() }
      check(reported.size == reported.toSet().size) { "a task reported twice: $reported" }
      for (name in report.cancelled().map { it.name() }) {
        check(s.byName.getValue(name).task.state() == TaskState.CANCELLED) { "$name reported cancelled but ${s.byName.getValue(name).task.state()}" }
      }
      // An abandoned task ends cancelled when its body returns, or failed if its attempt had
      // already timed out before the shutdown cut it (and it had no retry left).
      for (name in report.abandoned().map { it.name() }) {
        val t = s.byName.getValue(name).task
        check(t.state() == TaskState.CANCELLED || t.state() == TaskState.FAILED && t.error() is AttemptTimeoutException) {
          "$name abandoned but ended ${t.state()} with ${t.error()}"
        }
      }
      val cutByShutdown = accepted.filter { it.task.state() == TaskState.CANCELLED && !it.cancelledByTest }
      if (s.mode == Mode.DRAIN) {
        check(cutByShutdown.isEmpty()) { "a draining shutdown cancelled ${cutByShutdown.map { it.name }}" }
      } else {
        for (p in cutByShutdown) {
          check(p.name in reported) { "${p.name} was cut by the shutdown but is not in the report: $report" }
        }
      }
      for (snapshot in report.cancelled()) {
        check(snapshot.state() in setOf(TaskState.READY, TaskState.WAITING, TaskState.RUNNING)) { "reported state $snapshot" }
      }
    }
  }

  @Test
  fun backoffDelaysStayInTheirEnvelope() = runBlocking {
    val seeds = Arb.long()
    var checked = 0
    checkAll(PropTestConfig(iterations = 2_000), seeds) { seed ->
      val r = Random(seed)
      val initial = Duration.ofMillis(r.nextInt(10_000).toLong())
      val max = initial.plusMillis(r.nextInt(600_000).toLong())
      val factor = 1.0 + r.nextDouble() * 9
      val jitter = if (r.nextBoolean()) 0.0 else r.nextDouble()
      val backoff = Backoff(initial, factor, max, jitter)
      val random = java.util.SplittableRandom(seed)
      var previousUpper = 0.0
      for (retry in 1..64) {
        val base = initial.toNanos() * Math.pow(factor, (retry - 1).toDouble())
        val lower = minOf(max.toNanos().toDouble(), base * (1 - jitter))
        val upper = minOf(max.toNanos().toDouble(), base * (1 + jitter))
        val delay = backoff.delay(retry, random).toNanos().toDouble()
        assertTrue(delay <= max.toNanos(), "seed $seed retry $retry: $delay > cap $max")
        assertTrue(delay >= lower - 1 && delay <= upper + 1, "seed $seed retry $retry: $delay not in [$lower, $upper]")
        // The envelope never shrinks: each retry's upper bound is at least the previous one's.
        assertTrue(upper >= previousUpper, "seed $seed retry $retry: envelope shrank")
        previousUpper = upper
        checked++
      }
      // Without jitter the delays are exact and never decrease.
      val exact = backoff.withoutJitter()
      for (retry in 1..63) {
        assertTrue(exact.delay(retry + 1, random) >= exact.delay(retry, random), "seed $seed retry $retry")
      }
    }
    assertEquals(2_000 * 64, checked)
  }
}
