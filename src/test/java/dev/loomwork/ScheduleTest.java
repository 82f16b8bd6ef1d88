package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Schedules as pure functions: cron syntax, macros, fixed rates, and daylight saving in three zones. */
class ScheduleTest {
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
  private static final ZoneId SAO_PAULO = ZoneId.of("America/Sao_Paulo");
  private static final ZoneId LORD_HOWE = ZoneId.of("Australia/Lord_Howe");

  /** The ticks in (from, to]. */
  static List<Instant> ticks(Schedule s, Instant from, Instant to) {
    List<Instant> out = new ArrayList<>();
    Instant t = s.next(from);
    while (t != null && !t.isAfter(to)) {
      out.add(t);
      Instant prev = t;
      Instant n = s.next(prev);
      assertTrue(n == null || n.isAfter(prev), () -> s + ": next(" + prev + ") = " + n + " is not later");
      t = n;
    }
    return out;
  }

  private static List<Instant> onLocalDate(Schedule s, ZoneId zone, LocalDate day) {
    Instant from = day.atStartOfDay(zone).toInstant().minusNanos(1);
    Instant to = day.plusDays(1).atStartOfDay(zone).toInstant().minusNanos(1);
    return ticks(s, from, to);
  }

  @Test
  void berlinDailyAtTwoThirtyRunsOnceOnBothChangeoverDays() {
    Schedule s = Schedule.cron("30 2 * * *", BERLIN);
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist and runs at 03:30 CEST.
    assertEquals(
        List.of(Instant.parse("2026-03-29T01:30:00Z")),
        onLocalDate(s, BERLIN, LocalDate.of(2026, 3, 29)));
    // 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice and runs the first time.
    assertEquals(
        List.of(Instant.parse("2026-10-25T00:30:00Z")),
        onLocalDate(s, BERLIN, LocalDate.of(2026, 10, 25)));
    assertEquals(
        List.of(
            Instant.parse("2026-03-28T01:30:00Z"),
            Instant.parse("2026-03-29T01:30:00Z"),
            Instant.parse("2026-03-30T00:30:00Z")),
        ticks(s, Instant.parse("2026-03-28T00:00:00Z"), Instant.parse("2026-03-30T12:00:00Z")));
  }

  @Test
  void berlinHourlyKeepsItsRhythmThroughBothChanges() {
    Schedule s = Schedule.cron("@hourly", BERLIN);
    List<Instant> spring = onLocalDate(s, BERLIN, LocalDate.of(2026, 3, 29));
    assertEquals(23, spring.size(), spring::toString);
    List<Instant> autumn = onLocalDate(s, BERLIN, LocalDate.of(2026, 10, 25));
    assertEquals(25, autumn.size(), autumn::toString);
    for (int i = 1; i < autumn.size(); i++) {
      assertEquals(Duration.ofHours(1), Duration.between(autumn.get(i - 1), autumn.get(i)));
    }
    // Every minute through the repeated hour: 60 × 25 ticks, one minute apart.
    List<Instant> minutes = onLocalDate(Schedule.cron("* * * * *", BERLIN), BERLIN, LocalDate.of(2026, 10, 25));
    assertEquals(25 * 60, minutes.size());
  }

  @Test
  void saoPauloMidnightThatDidNotExistAndEveningThatHappenedTwice() {
    // 2018-11-04: 00:00 -03 jumped to 01:00 -02, so midnight ran at 01:00 -02.
    Schedule daily = Schedule.cron("@daily", SAO_PAULO);
    assertEquals(
        List.of(Instant.parse("2018-11-04T03:00:00Z")),
        onLocalDate(daily, SAO_PAULO, LocalDate.of(2018, 11, 4)));
    // 2019-02-17: 00:00 -02 went back to 23:00 -03 on the 16th; 23:30 on the 16th ran once, at -02.
    Schedule evening = Schedule.cron("0 30 23 * * *", SAO_PAULO);
    assertEquals(
        List.of(Instant.parse("2019-02-17T01:30:00Z")),
        onLocalDate(evening, SAO_PAULO, LocalDate.of(2019, 2, 16)));
    // Since 2019 the zone keeps -03 all year.
    assertEquals(
        List.of(Instant.parse("2025-11-02T03:00:00Z")),
        onLocalDate(daily, SAO_PAULO, LocalDate.of(2025, 11, 2)));
  }

  @Test
  void lordHoweHalfHourShifts() {
    // 2026-10-04: 02:00 +10:30 jumps to 02:30 +11; 02:15 runs at 02:45 +11.
    Schedule s = Schedule.cron("15 2 * * *", LORD_HOWE);
    assertEquals(
        List.of(Instant.parse("2026-10-03T15:45:00Z")),
        onLocalDate(s, LORD_HOWE, LocalDate.of(2026, 10, 4)));
    // 2026-04-05: 02:00 +11 goes back to 01:30 +10:30; 01:45 runs once, at +11.
    Schedule back = Schedule.cron("45 1 * * *", LORD_HOWE);
    assertEquals(
        List.of(Instant.parse("2026-04-04T14:45:00Z")),
        onLocalDate(back, LORD_HOWE, LocalDate.of(2026, 4, 5)));
    // Every quarter hour of every hour: the repeated half hour runs twice, 96 + 2 ticks.
    Schedule quarter = Schedule.cron("*/15 * * * *", LORD_HOWE);
    assertEquals(98, onLocalDate(quarter, LORD_HOWE, LocalDate.of(2026, 4, 5)).size());
    assertEquals(94, onLocalDate(quarter, LORD_HOWE, LocalDate.of(2026, 10, 4)).size());
  }

  @Test
  void macrosAndSixFields() {
    Instant from = Instant.parse("2026-05-13T10:15:30Z");
    assertEquals(Instant.parse("2027-01-01T00:00:00Z"), Schedule.cron("@yearly", "UTC").next(from));
    assertEquals(Instant.parse("2027-01-01T00:00:00Z"), Schedule.cron("@annually", "UTC").next(from));
    assertEquals(Instant.parse("2026-06-01T00:00:00Z"), Schedule.cron("@monthly", "UTC").next(from));
    assertEquals(Instant.parse("2026-05-17T00:00:00Z"), Schedule.cron("@weekly", "UTC").next(from));
    assertEquals(Instant.parse("2026-05-14T00:00:00Z"), Schedule.cron("@daily", "UTC").next(from));
    assertEquals(Instant.parse("2026-05-14T00:00:00Z"), Schedule.cron("@midnight", "UTC").next(from));
    assertEquals(Instant.parse("2026-05-13T11:00:00Z"), Schedule.cron("@HOURLY", "UTC").next(from));
    assertEquals(Instant.parse("2026-05-13T10:15:45Z"), Schedule.cron("*/15 * * * * *", "UTC").next(from));
    assertEquals(Instant.parse("2026-05-13T10:16:00Z"), Schedule.cron("* * * * *", "UTC").next(from));
    // Names, Sunday as 7, and POSIX's either-day rule.
    assertEquals(Instant.parse("2026-05-17T09:00:00Z"), Schedule.cron("0 9 * MAY sun", "UTC").next(from));
    assertEquals(Instant.parse("2026-05-17T09:00:00Z"), Schedule.cron("0 9 * 5 7", "UTC").next(from));
    assertEquals(Instant.parse("2026-05-15T00:00:00Z"), Schedule.cron("0 0 1 * FRI", "UTC").next(from));
    assertEquals(Instant.parse("2028-02-29T00:00:00Z"), Schedule.cron("0 0 29 2 *", "UTC").next(from));
    assertEquals(Instant.parse("2026-05-13T10:15:30Z").plusSeconds(1),
        Schedule.cron("* * * * * *", "+02:00").next(from));
  }

  @Test
  void fixedRateTicksAreMultiplesSinceTheEpoch() {
    Schedule s = Schedule.fixedRate(Duration.ofMinutes(5));
    assertEquals(Instant.parse("2026-05-13T10:20:00Z"), s.next(Instant.parse("2026-05-13T10:15:30Z")));
    assertEquals(Instant.parse("2026-05-13T10:25:00Z"), s.next(Instant.parse("2026-05-13T10:20:00Z")));
    assertEquals(Instant.ofEpochMilli(1), Schedule.fixedRate(Duration.ofMillis(1)).next(Instant.EPOCH));
    Schedule d = Schedule.fixedDelay(Duration.ofSeconds(30));
    assertEquals(Instant.parse("2026-05-13T10:16:00Z"), d.next(Instant.parse("2026-05-13T10:15:30Z")));
  }

  @Test
  void equalSchedulesAndTheirText() {
    assertEquals(Schedule.cron("@daily", BERLIN), Schedule.cron("@daily", "Europe/Berlin"));
    assertEquals("cron(@daily, Europe/Berlin)", Schedule.cron("@daily", BERLIN).toString());
    assertEquals("fixedRate(PT1S)", Schedule.fixedRate(Duration.ofSeconds(1)).toString());
    assertEquals(ZoneOffset.UTC, Schedule.cron("@daily", ZoneOffset.UTC).zone());
    assertNull(Schedule.fixedRate(Duration.ofSeconds(1)).zone());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "61 0 * * *     | cron \"61 0 * * *\": minute field \"61\" out of range 0-59",
        "0 61 * * *     | cron \"0 61 * * *\": hour field \"61\" out of range 0-23",
        "61 * * * * *   | cron \"61 * * * * *\": second field \"61\" out of range 0-59",
        "0 24 * * *     | cron \"0 24 * * *\": hour field \"24\" out of range 0-23",
        "0 0 0 * *      | cron \"0 0 0 * *\": day-of-month field \"0\" out of range 1-31",
        "0 0 1 13 *     | cron \"0 0 1 13 *\": month field \"13\" out of range 1-12",
        "0 0 * * 8      | cron \"0 0 * * 8\": day-of-week field \"8\" out of range 0-7",
        "0 0 * * MOO    | cron \"0 0 * * MOO\": day-of-week field \"MOO\" has value \"MOO\" (expected a number 0-7 or a name SUN-SAT)",
        "*/0 * * * *    | cron \"*/0 * * * *\": minute field \"*/0\" step \"0\" out of range 1-60",
        "5-1 * * * *    | cron \"5-1 * * * *\": minute field \"5-1\" range \"5-1\" runs backwards",
        "1,,2 * * * *   | cron \"1,,2 * * * *\": minute field \"1,,2\" has an empty list item",
        "0 0 L * *      | cron \"0 0 L * *\": day-of-month field \"L\" uses \"L\": L, W and # are not supported",
        "0 0 * *        | cron \"0 0 * *\": 4 fields (expected 5, minute hour day-of-month month day-of-week; 6, with a second first; or a macro such as @daily)",
        "@fortnightly   | cron \"@fortnightly\": unknown macro \"@fortnightly\" (expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)",
        "0 0 30 2 *     | cron \"0 0 30 2 *\": never fires (no date has that day-of-month in those months)",
      })
  void badExpressionsNameTheirField(String expression, String message) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Schedule.cron(expression, BERLIN));
    assertEquals(message, e.getMessage());
  }

  @Test
  void badZonesAndPeriodsAreRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Schedule.cron("@daily", "Europe/Berlim"));
    assertEquals(
        "zone \"Europe/Berlim\": unknown time zone (expected a region ID such as \"Europe/Berlin\","
            + " \"UTC\", or an offset such as \"+02:00\")",
        e.getMessage());
    assertThrows(NullPointerException.class, () -> Schedule.cron("@daily", (ZoneId) null));
    assertEquals(
        "period: PT0S (expected: >= 1 ms)",
        assertThrows(IllegalArgumentException.class, () -> Schedule.fixedRate(Duration.ZERO)).getMessage());
    assertEquals(
        "delay: PT-1S (expected: >= 1 ms)",
        assertThrows(IllegalArgumentException.class, () -> Schedule.fixedDelay(Duration.ofSeconds(-1)))
            .getMessage());
  }
}
