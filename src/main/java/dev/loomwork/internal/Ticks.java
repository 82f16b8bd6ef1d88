package dev.loomwork.internal;

import dev.loomwork.MissedTicks;
import dev.loomwork.Schedule;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Which ticks of a schedule run when a runner looks at the time: a pure function of the schedule,
 * its first unhandled tick, now, the missed-tick policy and the late tolerance, shared by the
 * schedules in memory and in the store.
 *
 * <p>The due ticks are those from the first unhandled one up to now. A due tick older than the
 * tolerance is missed; the others are on time and always run. Of the missed ones, {@code runOnce}
 * runs the latest, {@code skip} none, and {@code runEach(n)} the latest n; the rest are skipped.
 */
public final class Ticks {
  /** How many due ticks are walked one by one before the walk jumps close to now. */
  static final int WALK_LIMIT = 100_000;

  private Ticks() {}

  /**
   * What to do now.
   *
   * @param run the ticks to run, oldest first
   * @param skipped how many due ticks do not run (at least; a very long outage is counted in part)
   * @param missed how many due ticks were missed (older than the tolerance)
   * @param next the first tick after now, or null if the schedule has no further tick
   * @param last the latest due tick, or null if none was due
   */
  public record Due(List<Instant> run, long skipped, long missed, @Nullable Instant next, @Nullable Instant last) {}

  /**
   * Computes the ticks to run.
   *
   * @param schedule a cron or fixed-rate schedule
   * @param first the first tick not yet handled
   * @param now the time now
   */
  public static Due due(
      Schedule schedule, Instant first, Instant now, MissedTicks policy, Duration tolerance) {
    Instant lateBefore = now.minus(tolerance);
    int keep = Math.max(1, policy.atMost());
    ArrayDeque<Instant> missed = new ArrayDeque<>(Math.min(keep, 64));
    List<Instant> onTime = new ArrayList<>(1);
    long missedCount = 0;
    long walked = 0;
    Instant last = null;
    Instant t = first;
    while (t != null && !t.isAfter(now)) {
      last = t;
      if (t.isBefore(lateBefore)) {
        missedCount++;
        if (missed.size() == keep) {
          missed.removeFirst();
        }
        missed.addLast(t);
      } else {
        onTime.add(t);
      }
      if (++walked == WALK_LIMIT) {
        // A very long outage of a fast schedule: jump to the tolerance window, counting the ticks in
        // between as missed without visiting them (their number is not known without the walk).
        Instant jump = schedule.next(lateBefore.minus(tolerance));
        t = jump != null && jump.isAfter(t) ? jump : schedule.next(t);
        continue;
      }
      t = schedule.next(t);
    }
    List<Instant> run = new ArrayList<>(missed.size() + onTime.size());
    switch (policy.kind()) {
      case RUN_ONCE -> {
        if (!missed.isEmpty()) {
          run.add(missed.getLast());
        }
      }
      case RUN_EACH -> run.addAll(missed);
      case SKIP -> {}
    }
    run.addAll(onTime);
    long skipped = missedCount - (run.size() - onTime.size());
    return new Due(List.copyOf(run), skipped, missedCount, t, last);
  }
}
