package dev.loomwork;

import dev.loomwork.internal.Cron;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * When a {@link RecurringTask} runs: a cron expression in a time zone, a fixed rate, or a fixed delay.
 * Immutable and thread-safe; equal when they describe the same ticks the same way.
 *
 * <pre>{@code
 * Schedule.cron("30 2 * * *", ZoneId.of("Europe/Berlin"));  // 02:30 every day, Berlin time
 * Schedule.cron("@hourly", ZoneOffset.UTC);
 * Schedule.fixedRate(Duration.ofMinutes(5));                // :00, :05, :10 ... (UTC)
 * Schedule.fixedDelay(Duration.ofSeconds(30));              // 30 s after each run ends
 * }</pre>
 *
 * <p><b>Cron.</b> Five fields ({@code minute hour day-of-month month day-of-week}) or six ({@code
 * second} first); each field is {@code *}, a value, a range {@code a-b}, any of them with a step
 * {@code /n}, or a comma list; months {@code JAN}-{@code DEC} and days {@code SUN}-{@code SAT} may be
 * named; day-of-week 0 and 7 are Sunday; {@code ?} is {@code *} in the day fields. When both day
 * fields are restricted a day matches if either does, as in POSIX cron. Macros: {@code @yearly}
 * ({@code @annually}), {@code @monthly}, {@code @weekly}, {@code @daily} ({@code @midnight}),
 * {@code @hourly}. Quartz's {@code L}, {@code W} and {@code #} are not supported.
 *
 * <p><b>Daylight saving.</b> A cron schedule follows the zone's wall clock. A time the clocks skip
 * (02:30 on a spring-forward day in Europe/Berlin) runs once, shifted forward by the gap (03:30 CEST);
 * a time the clocks repeat (02:30 on the fall-back day) runs once, the first time round. An expression
 * whose hour field matches every hour (hourly, every minute) runs in both copies of the repeated hour,
 * so it keeps its rhythm.
 *
 * <p><b>Fixed rate</b> ticks are whole multiples of the period since the epoch (1970-01-01T00:00Z), so
 * every process computes the same ticks; a time zone does not change them. <b>Fixed delay</b> ticks
 * come {@code delay} after the previous tick's task ended (the first one when the schedule starts);
 * it runs on queues in memory only.
 */
public final class Schedule {
  /** What kind of schedule this is. */
  public enum Kind {
    /** A cron expression in a time zone. */
    CRON,
    /** Multiples of a period since the epoch. */
    FIXED_RATE,
    /** A delay after the previous run ended. */
    FIXED_DELAY
  }

  private final Kind kind;
  private final @Nullable Cron cron;
  private final @Nullable ZoneId zone;
  private final @Nullable Duration period;

  private Schedule(Kind kind, @Nullable Cron cron, @Nullable ZoneId zone, @Nullable Duration period) {
    this.kind = kind;
    this.cron = cron;
    this.zone = zone;
    this.period = period;
  }

  /**
   * A cron schedule in a time zone.
   *
   * @param expression five or six fields, or a macro such as {@code @daily}
   * @param zone the zone whose wall clock the expression follows
   * @return the schedule
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the expression is malformed, naming the field and the
   *     expectation: {@code cron "0 61 * * *": minute field "61" out of range 0-59}
   */
  public static Schedule cron(String expression, ZoneId zone) {
    Objects.requireNonNull(expression, "expression");
    Objects.requireNonNull(zone, "zone");
    return new Schedule(Kind.CRON, Cron.parse(expression), zone, null);
  }

  /**
   * A cron schedule in a time zone given by its ID.
   *
   * @param expression five or six fields, or a macro such as {@code @daily}
   * @param zone a zone ID such as {@code "Europe/Berlin"}, {@code "UTC"} or {@code "+02:00"}
   * @return the schedule
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the expression is malformed (see {@link #cron(String,
   *     ZoneId)}) or the zone unknown: {@code zone "Europe/Berlim": unknown time zone}
   */
  public static Schedule cron(String expression, String zone) {
    Objects.requireNonNull(expression, "expression");
    Objects.requireNonNull(zone, "zone");
    ZoneId id;
    try {
      id = ZoneId.of(zone);
    } catch (DateTimeException e) {
      throw new IllegalArgumentException(
          "zone \"" + zone + "\": unknown time zone (expected a region ID such as"
              + " \"Europe/Berlin\", \"UTC\", or an offset such as \"+02:00\")",
          e);
    }
    return cron(expression, id);
  }

  /**
   * A schedule that ticks at every whole multiple of {@code period} since the epoch.
   *
   * @param period at least 1 ms
   * @return the schedule
   * @throws NullPointerException if {@code period} is null
   * @throws IllegalArgumentException if {@code period} is shorter than 1 ms
   */
  public static Schedule fixedRate(Duration period) {
    return new Schedule(Kind.FIXED_RATE, null, null, atLeastMilli(period, "period"));
  }

  /**
   * A schedule that ticks {@code delay} after the previous tick's task ended, and once when it
   * starts. For queues in memory only.
   *
   * @param delay at least 1 ms
   * @return the schedule
   * @throws NullPointerException if {@code delay} is null
   * @throws IllegalArgumentException if {@code delay} is shorter than 1 ms
   */
  public static Schedule fixedDelay(Duration delay) {
    return new Schedule(Kind.FIXED_DELAY, null, null, atLeastMilli(delay, "delay"));
  }

  private static Duration atLeastMilli(Duration d, String what) {
    Objects.requireNonNull(d, what);
    if (d.compareTo(Duration.ofMillis(1)) < 0) {
      throw new IllegalArgumentException(what + ": " + d + " (expected: >= 1 ms)");
    }
    return d;
  }

  /**
   * Returns the first tick strictly after {@code after}. For a fixed delay, that is {@code after}
   * plus the delay, {@code after} being the end of the previous run.
   *
   * @param after an instant
   * @return the tick, or null if there is none (a cron expression that matches no date within about
   *     nine years)
   * @throws NullPointerException if {@code after} is null
   */
  public @Nullable Instant next(Instant after) {
    Objects.requireNonNull(after, "after");
    return switch (kind) {
      case CRON -> Objects.requireNonNull(cron).next(after, Objects.requireNonNull(zone));
      case FIXED_DELAY -> after.plus(Objects.requireNonNull(period));
      case FIXED_RATE -> {
        long p = Objects.requireNonNull(period).toNanos();
        long since = after.getEpochSecond() * 1_000_000_000L + after.getNano();
        long k = Math.floorDiv(since, p) + 1;
        long n = k * p;
        yield Instant.ofEpochSecond(Math.floorDiv(n, 1_000_000_000L), Math.floorMod(n, 1_000_000_000L));
      }
    };
  }

  /** {@return what kind of schedule this is} */
  public Kind kind() {
    return kind;
  }

  /** {@return the cron expression as given, or null if this is not a cron schedule} */
  public @Nullable String expression() {
    return cron == null ? null : cron.text();
  }

  /** {@return the cron schedule's zone, or null if this is not a cron schedule} */
  public @Nullable ZoneId zone() {
    return zone;
  }

  /** {@return the period of a fixed rate or the delay of a fixed delay, or null for cron} */
  public @Nullable Duration period() {
    return period;
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof Schedule s
        && kind == s.kind
        && Objects.equals(expression(), s.expression())
        && Objects.equals(zone, s.zone)
        && Objects.equals(period, s.period);
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, expression(), zone, period);
  }

  /** {@return the schedule as {@code cron(EXPRESSION, ZONE)}, {@code fixedRate(PERIOD)} or {@code fixedDelay(DELAY)}} */
  @Override
  public String toString() {
    return switch (kind) {
      case CRON -> "cron(" + expression() + ", " + zone + ")";
      case FIXED_RATE -> "fixedRate(" + period + ")";
      case FIXED_DELAY -> "fixedDelay(" + period + ")";
    };
  }
}
