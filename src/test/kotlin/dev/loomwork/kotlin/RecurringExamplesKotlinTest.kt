package dev.loomwork.kotlin

import dev.loomwork.JacksonCodec
import dev.loomwork.MissedTicks
import dev.loomwork.RecurringTask
import dev.loomwork.Schedule
import dev.loomwork.TaskType
import dev.loomwork.WorkQueue
import java.time.Duration
import java.time.Instant
import java.time.ZoneId
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The Kotlin example of docs/recurring.md, compiled and run: the page shows the README region below. */
class RecurringExamplesKotlinTest {
  @Test
  fun hourlyReport() {
    val sent = CountDownLatch(1)
    var scheduled: Instant? = null
    // README:recurring-kotlin
    val report = TaskType.of("report.hourly", JacksonCodec(String::class.java))

    val queue = WorkQueue.builder("reports")
      .handle(report) { ctx, recipient ->
        scheduled = ctx.scheduledAt() // non-null for a tick's task
        sent.countDown()
      }
      .recurring(
        RecurringTask.of("hourly-report", Schedule.cron("@hourly", ZoneId.of("America/Sao_Paulo")), report, "ops@example.com")
          .missedTicks(MissedTicks.runEach(3))
          .lateTolerance(Duration.ofMinutes(1)),
      )
      .build()
    queue.start()
    queue.recurring().list().forEach { println("${it.name}: next ${it.nextRun}, last ${it.lastRun}") }
    queue.recurring().triggerNow("hourly-report")
    // README:end
    assertTrue(sent.await(30, TimeUnit.SECONDS))
    queue.shutdown()
    assertNotNull(scheduled)
  }
}
