package dev.loomwork

import io.kotest.property.Arb
import io.kotest.property.PropTestConfig
import io.kotest.property.RandomSource
import io.kotest.property.arbitrary.arbitrary
import io.kotest.property.arbitrary.element
import io.kotest.property.arbitrary.long
import io.kotest.property.checkAll
import java.time.Instant
import java.time.ZoneId
import java.time.ZonedDateTime
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.springframework.scheduling.support.CronExpression

/**
 * loomwork's cron parser against a reference, Spring's `CronExpression` (test scope only): random
 * six-field expressions (values, ranges, steps, lists, names; at least one day field `*`, where
 * POSIX's either-day rule and Spring's both-days rule agree; a restricted day field without `*` in it,
 * since Spring steps day-of-week over 1-7 where cron steps it over 0-7) and random instants from 2000 to 2040,
 * in zones without daylight saving and with it. Where the two disagree in a zone with daylight
 * saving, a transition must lie between the start and the later answer: that is where loomwork's
 * documented rule (ScheduleTest) applies.
 *
 * `-Dloomwork.prop.iterations=N` runs more cases.
 */
class CronPropertyTest {
  private val iterations = System.getProperty("loomwork.prop.iterations")?.toInt() ?: 3000

  private data class Case(val expression: String, val from: Instant, val zone: ZoneId)

  private fun field(rs: RandomSource, min: Int, max: Int, names: List<String>, star: Boolean = true): String {
    val r = rs.random
    fun value(): String {
      val v = min + r.nextInt(max - min + 1)
      return if (names.isNotEmpty() && r.nextInt(4) == 0) names[v - (if (min == 1) 1 else 0)].let {
        if (r.nextBoolean()) it else it.lowercase()
      } else v.toString()
    }
    fun item(): String =
      when (if (star) r.nextInt(6) else 2 + r.nextInt(3)) {
        0 -> "*"
        1 -> "*/" + (1 + r.nextInt(max - min + 1))
        2 -> value()
        3 -> {
          val a = min + r.nextInt(max - min + 1)
          val b = a + r.nextInt(max - a + 1)
          "$a-$b"
        }
        4 -> {
          val a = min + r.nextInt(max - min + 1)
          val b = a + r.nextInt(max - a + 1)
          "$a-$b/" + (1 + r.nextInt(max - min + 1))
        }
        else -> (min + r.nextInt(max - min + 1)).toString() + "/" + (1 + r.nextInt(max - min + 1))
      }
    return if (r.nextInt(4) == 0) item() + "," + item() else item()
  }

  private val months = listOf("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
  private val days = listOf("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
  private val zones =
    listOf("UTC", "+05:30", "-09:00", "Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "America/New_York")
      .map(ZoneId::of)

  private val cases =
    arbitrary { rs ->
      val r = rs.random
      val dayStar = r.nextInt(3)
      val dom = if (dayStar == 0) "*" else field(rs, 1, 31, emptyList(), star = false)
      val dow = if (dayStar == 0) field(rs, 0, 6, days, star = false) else if (dayStar == 1) "*" else "?"
      val expression =
        listOf(
          // Seconds and minutes are kept coarse sometimes, so that days and months get exercised.
          if (r.nextBoolean()) "0" else field(rs, 0, 59, emptyList()),
          if (r.nextBoolean()) "0" else field(rs, 0, 59, emptyList()),
          field(rs, 0, 23, emptyList()),
          dom,
          field(rs, 1, 12, months),
          dow,
        ).joinToString(" ")
      val from = Instant.ofEpochSecond(946_684_800L + (r.nextLong() and Long.MAX_VALUE) % 1_262_304_000L)
      Case(expression, from, zones[r.nextInt(zones.size)])
    }

  @Test
  fun nextAgreesWithSpringsCronExpression() = runBlocking {
    var compared = 0
    var dstDisagreements = 0
    checkAll(PropTestConfig(iterations = iterations), cases) { c ->
      val reference = CronExpression.parse(c.expression).next(ZonedDateTime.ofInstant(c.from, c.zone))?.toInstant()
      val ours =
        try {
          Schedule.cron(c.expression, c.zone).next(c.from)
        } catch (e: IllegalArgumentException) {
          // Refused as never firing: the reference must find nothing within the search horizon either.
          assertTrue(e.message!!.contains("never fires"), e.message)
          assertEquals(null, reference?.takeIf { it.isBefore(c.from.plusSeconds(9L * 366 * 86400)) }, c.toString())
          return@checkAll
        }
      compared++
      if (ours != reference) {
        val rules = c.zone.rules
        val later = listOfNotNull(ours, reference).max()
        val transition = rules.nextTransition(c.from.minusSeconds(86_400))
        assertTrue(
          !rules.isFixedOffset && transition != null && transition.instant.isBefore(later.plusSeconds(86_400)),
          "$c: loomwork $ours, Spring $reference, and no daylight-saving change between them",
        )
        dstDisagreements++
      }
    }
    assertTrue(compared > iterations / 2, "compared $compared of $iterations")
    println("CronPropertyTest: $compared compared, $dstDisagreements differ at a daylight-saving change")
  }

  @Test
  fun longRunsOfTicksAgreeInUtc(): Unit = runBlocking<Unit> {
    // Fifty ticks in a row from one start, each from the previous one.
    val exprs = Arb.element("0 */7 3-5 * * *", "30 0 0,12 * * MON-FRI", "0 0 * 2 * *", "15,45 10 1 * *")
    checkAll(PropTestConfig(iterations = 20), exprs, Arb.long(0L, 3_000_000L)) { e, offsetMinutes ->
      val s = Schedule.cron(e, ZoneId.of("UTC"))
      val start = Instant.parse("2026-01-01T00:00:00Z").plusSeconds(offsetMinutes * 60)
      val spring = CronExpression.parse(if (e.split(" ").size == 5) "0 $e" else e)
      var t = start
      var mine = start
      repeat(50) {
        mine = s.next(mine)!!
        t = spring.next(ZonedDateTime.ofInstant(t, ZoneId.of("UTC")))!!.toInstant()
        assertEquals(t, mine, "$e after $start")
      }
    }
  }
}
