package dev.loomwork.internal;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A parsed cron expression and its next tick in a time zone. Immutable and thread-safe.
 *
 * <p><b>Syntax.</b> Five fields ({@code minute hour day-of-month month day-of-week}, the second is
 * 0) or six ({@code second minute hour day-of-month month day-of-week}), separated by blanks. Each
 * field is {@code *}, a value, a range {@code a-b}, any of them with a step {@code /n}, or a comma
 * list of those; {@code ?} is {@code *} in the two day fields. Months may be named {@code JAN} to
 * {@code DEC} and days {@code SUN} to {@code SAT} (either case); day-of-week 0 and 7 are Sunday.
 * Macros: {@code @yearly} ({@code @annually}), {@code @monthly}, {@code @weekly}, {@code @daily}
 * ({@code @midnight}), {@code @hourly}. Quartz's {@code L}, {@code W} and {@code #} are refused.
 *
 * <p><b>Day fields.</b> As in POSIX cron: when both day-of-month and day-of-week are restricted
 * (neither is {@code *} or {@code ?}), a day matches if either does; otherwise the restricted one
 * decides.
 *
 * <p><b>Daylight saving.</b> The expression is matched against the zone's local date-times, and each
 * matching local time becomes one instant: a local time in a gap (the clocks jumped forward over it)
 * runs as {@link ZonedDateTime#of} resolves it, shifted forward by the length of the gap (02:30 on a
 * spring-forward day in Europe/Berlin runs at 03:30 CEST), and it never runs twice if the shifted time
 * matches too; a local time in an overlap (the clocks went back) runs once, at its earlier offset,
 * unless the hour field matches every hour, in which case it runs at both (an hourly or
 * every-minute expression keeps its rhythm through the repeated hour). So a 02:30 daily expression
 * runs once on both changeover days.
 *
 * <p>The next tick is found in local time and mapped to an instant: {@code primary(t)} (the earlier
 * offset in an overlap, shifted in a gap) is non-decreasing in the local time {@code t}, so the first
 * matching {@code t} whose primary instant is after the given instant is the first primary tick; the
 * later-offset ticks of an overlap are found apart and the earlier of the two wins.
 */
public final class Cron {
  private static final Map<String, String> MACROS =
      Map.of(
          "@yearly", "0 0 0 1 1 *",
          "@annually", "0 0 0 1 1 *",
          "@monthly", "0 0 0 1 * *",
          "@weekly", "0 0 0 * * 0",
          "@daily", "0 0 0 * * *",
          "@midnight", "0 0 0 * * *",
          "@hourly", "0 0 * * * *");

  private static final List<String> MONTHS =
      List.of("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC");
  private static final List<String> DAYS = List.of("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT");

  /** How far ahead a search for a matching local time goes; leap days repeat within 8 years. */
  private static final int SEARCH_YEARS = 9;

  private final String text;
  private final BitSet seconds;
  private final BitSet minutes;
  private final BitSet hours;
  private final BitSet daysOfMonth;
  private final BitSet months;
  /** Day of week, 0 (Sunday) to 6; 7 is folded into 0. */
  private final BitSet daysOfWeek;
  private final boolean anyDayOfMonth;
  private final boolean anyDayOfWeek;
  private final boolean everyHour;

  private Cron(String text, BitSet[] fields, boolean anyDom, boolean anyDow) {
    this.text = text;
    this.seconds = fields[0];
    this.minutes = fields[1];
    this.hours = fields[2];
    this.daysOfMonth = fields[3];
    this.months = fields[4];
    this.daysOfWeek = fields[5];
    this.anyDayOfMonth = anyDom;
    this.anyDayOfWeek = anyDow;
    this.everyHour = hours.cardinality() == 24;
  }

  /**
   * Parses an expression.
   *
   * @param expression five or six fields, or a macro
   * @return the expression
   * @throws IllegalArgumentException naming the expression, the field and what was expected
   */
  public static Cron parse(String expression) {
    String trimmed = expression.strip();
    String expanded = trimmed;
    if (trimmed.startsWith("@")) {
      expanded = MACROS.get(trimmed.toLowerCase(Locale.ROOT));
      if (expanded == null) {
        throw new IllegalArgumentException(
            "cron \"" + expression + "\": unknown macro \"" + trimmed
                + "\" (expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight,"
                + " @hourly)");
      }
    }
    String[] parts = expanded.isEmpty() ? new String[0] : expanded.split("\\s+");
    if (parts.length != 5 && parts.length != 6) {
      throw new IllegalArgumentException(
          "cron \"" + expression + "\": " + parts.length + " field" + (parts.length == 1 ? "" : "s")
              + " (expected 5, minute hour day-of-month month day-of-week; 6, with a second"
              + " first; or a macro such as @daily)");
    }
    int shift = parts.length == 5 ? 1 : 0;
    String[] six = new String[6];
    six[0] = "0";
    System.arraycopy(parts, 0, six, shift, parts.length);
    BitSet[] fields = new BitSet[6];
    for (Field f : Field.values()) {
      fields[f.ordinal()] = f.parse(expression, six[f.ordinal()]);
    }
    if (fields[5].get(7)) {
      fields[5].clear(7);
      fields[5].set(0);
    }
    boolean anyDom = isAny(six[3]);
    boolean anyDow = isAny(six[5]);
    Cron cron = new Cron(expression, fields, anyDom, anyDow);
    LocalDateTime probe = LocalDateTime.of(2000, 1, 1, 0, 0);
    if (cron.nextLocal(probe) == null) {
      throw new IllegalArgumentException(
          "cron \"" + expression + "\": never fires (no date has that day-of-month in those months)");
    }
    return cron;
  }

  private static boolean isAny(String field) {
    return field.equals("*") || field.equals("?");
  }

  /** The expression as it was given. */
  public String text() {
    return text;
  }

  /**
   * The first tick strictly after {@code after}, in {@code zone}.
   *
   * @return the tick, or null if there is none within about nine years
   */
  public @Nullable Instant next(Instant after, ZoneId zone) {
    ZoneRules rules = zone.getRules();
    Instant from = after.truncatedTo(ChronoUnit.SECONDS);
    if (rules.isFixedOffset()) {
      ZoneOffset o = rules.getOffset(from);
      LocalDateTime t = nextLocal(LocalDateTime.ofInstant(from, o).plusSeconds(1));
      return t == null ? null : t.toInstant(o);
    }
    // Start early enough that a local time in a gap just before `after` is seen: its primary instant
    // is its local time at the offset before the gap, so start at the smallest offset nearby.
    ZoneOffset low = rules.getOffset(from);
    ZoneOffsetTransition previous = rules.previousTransition(from.plusSeconds(1));
    if (previous != null && previous.getOffsetBefore().getTotalSeconds() < low.getTotalSeconds()) {
      low = previous.getOffsetBefore();
    }
    LocalDateTime t = LocalDateTime.ofInstant(from, low).plusSeconds(1);
    Instant primary = null;
    for (int guard = 0; guard < 100_000; guard++) {
      t = nextLocal(t);
      if (t == null) {
        break;
      }
      Instant i = ZonedDateTime.ofLocal(t, zone, null).toInstant();
      if (i.isAfter(after)) {
        primary = i;
        break;
      }
      t = t.plusSeconds(1);
    }
    if (!everyHour) {
      return primary;
    }
    // The later offset of an overlap: local times repeated after the clocks went back.
    Instant bound = primary == null ? after.plus(366 * SEARCH_YEARS, ChronoUnit.DAYS) : primary;
    ZoneOffsetTransition tr = previous != null ? previous : rules.nextTransition(from);
    while (tr != null && tr.getInstant().isBefore(bound)) {
      if (tr.isOverlap()) {
        // Local times [dateTimeAfter, dateTimeBefore) map at the later offset to [instant, instant + len).
        ZoneOffset later = tr.getOffsetAfter();
        LocalDateTime start = tr.getDateTimeAfter();
        LocalDateTime end = tr.getDateTimeBefore();
        LocalDateTime fromLocal = LocalDateTime.ofInstant(from, later).plusSeconds(1);
        LocalDateTime s = fromLocal.isAfter(start) ? fromLocal : start;
        LocalDateTime m = s.isBefore(end) ? nextLocal(s) : null;
        if (m != null && m.isBefore(end)) {
          Instant i = m.toInstant(later);
          if (i.isAfter(after) && i.isBefore(bound)) {
            return i;
          }
        }
      }
      tr = rules.nextTransition(tr.getInstant());
    }
    return primary;
  }

  /** The first local time at or after {@code from} (whole seconds) that matches, or null. */
  @Nullable LocalDateTime nextLocal(LocalDateTime from) {
    LocalDateTime t = from.getNano() == 0 ? from : from.truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
    int lastYear = from.getYear() + SEARCH_YEARS;
    while (t.getYear() <= lastYear) {
      if (!months.get(t.getMonthValue())) {
        int m = months.nextSetBit(t.getMonthValue());
        t =
            m < 0
                ? LocalDateTime.of(t.getYear() + 1, months.nextSetBit(1), 1, 0, 0)
                : LocalDateTime.of(t.getYear(), m, 1, 0, 0);
        continue;
      }
      if (!dayMatches(t.toLocalDate())) {
        t = t.toLocalDate().plusDays(1).atStartOfDay();
        continue;
      }
      if (!hours.get(t.getHour())) {
        int h = hours.nextSetBit(t.getHour());
        t = h < 0 ? t.toLocalDate().plusDays(1).atStartOfDay() : t.toLocalDate().atTime(h, 0);
        continue;
      }
      if (!minutes.get(t.getMinute())) {
        int m = minutes.nextSetBit(t.getMinute());
        t =
            m < 0
                ? t.truncatedTo(ChronoUnit.HOURS).plusHours(1)
                : t.truncatedTo(ChronoUnit.HOURS).withMinute(m);
        continue;
      }
      if (!seconds.get(t.getSecond())) {
        int s = seconds.nextSetBit(t.getSecond());
        t =
            s < 0
                ? t.truncatedTo(ChronoUnit.MINUTES).plusMinutes(1)
                : t.truncatedTo(ChronoUnit.MINUTES).withSecond(s);
        continue;
      }
      return t;
    }
    return null;
  }

  private boolean dayMatches(LocalDate d) {
    boolean dom = daysOfMonth.get(d.getDayOfMonth());
    boolean dow = daysOfWeek.get(d.getDayOfWeek().getValue() % 7);
    if (anyDayOfMonth) {
      return dow;
    }
    if (anyDayOfWeek) {
      return dom;
    }
    return dom || dow;
  }

  @Override
  public String toString() {
    return text;
  }

  private enum Field {
    SECOND("second", 0, 59, List.of()),
    MINUTE("minute", 0, 59, List.of()),
    HOUR("hour", 0, 23, List.of()),
    DAY_OF_MONTH("day-of-month", 1, 31, List.of()),
    MONTH("month", 1, 12, MONTHS),
    DAY_OF_WEEK("day-of-week", 0, 7, DAYS);

    final String label;
    final int min;
    final int max;
    /** Names of the values from {@code min} (months) or 0 (days), or none. */
    final List<String> names;

    Field(String label, int min, int max, List<String> names) {
      this.label = label;
      this.min = min;
      this.max = max;
      this.names = names;
    }

    BitSet parse(String expression, String field) {
      BitSet bits = new BitSet(max + 1);
      if (field.equals("?") && (this == DAY_OF_MONTH || this == DAY_OF_WEEK)) {
        bits.set(min, max + 1);
        return bits;
      }
      for (String item : field.split(",", -1)) {
        parseItem(expression, field, item, bits);
      }
      return bits;
    }

    private void parseItem(String expression, String field, String item, BitSet bits) {
      if (item.isEmpty()) {
        throw error(expression, field, "has an empty list item");
      }
      String range = item;
      int step = 1;
      int slash = item.indexOf('/');
      if (slash >= 0) {
        range = item.substring(0, slash);
        String s = item.substring(slash + 1);
        step = number(expression, field, s, "step");
        int span = (this == DAY_OF_WEEK ? 7 : max) - min + 1;
        if (step < 1 || step > span) {
          throw error(expression, field, "step \"" + s + "\" out of range 1-" + span);
        }
      }
      int from;
      int to;
      if (range.equals("*")) {
        from = min;
        to = this == DAY_OF_WEEK ? 6 : max;
      } else {
        int dash = range.indexOf('-', 1);
        from = value(expression, field, dash < 0 ? range : range.substring(0, dash));
        to = dash < 0 ? (slash >= 0 ? (this == DAY_OF_WEEK ? 6 : max) : from)
            : value(expression, field, range.substring(dash + 1));
        if (to < from) {
          throw error(expression, field, "range \"" + range + "\" runs backwards");
        }
      }
      for (int v = from; v <= to; v += step) {
        bits.set(v);
      }
    }

    private int value(String expression, String field, String text) {
      String upper = text.toUpperCase(Locale.ROOT);
      int named = names.indexOf(upper);
      if (named >= 0) {
        return this == MONTH ? named + 1 : named;
      }
      if (upper.matches("[0-9]*(L|W|LW)[0-9]*|L-[0-9]+|[0-9]+#[0-9]+")) {
        throw error(
            expression, field, "uses \"" + text + "\": L, W and # are not supported");
      }
      int v = number(expression, field, text, "value");
      if (v < min || v > max) {
        throw new IllegalArgumentException(
            "cron \"" + expression + "\": " + label + " field \"" + field + "\" out of range "
                + min + "-" + max);
      }
      return v;
    }

    private int number(String expression, String field, String text, String what) {
      if (text.isEmpty() || text.length() > 4 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
        String expected =
            names.isEmpty()
                ? "a number " + min + "-" + max
                : "a number " + min + "-" + max + " or a name " + names.getFirst() + "-"
                    + names.getLast();
        throw error(
            expression,
            field,
            "has " + what + " \"" + text + "\" (expected " + (what.equals("step") ? "a number" : expected) + ")");
      }
      return Integer.parseInt(text);
    }

    private IllegalArgumentException error(String expression, String field, String problem) {
      return new IllegalArgumentException(
          "cron \"" + expression + "\": " + label + " field \"" + field + "\" " + problem);
    }
  }
}
