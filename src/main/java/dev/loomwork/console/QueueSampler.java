package dev.loomwork.console;

import dev.loomwork.admin.QueueAdmin;
import dev.loomwork.admin.QueueOverview;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * The queues' overviews, read at most once a second however many browsers refresh (a store's
 * {@code queues()} counts rows, so it is read on a timer, never per viewer), and less often when a
 * read is slow: a read that took d serves for {@value #COST_FACTOR} d, so that the console spends at
 * most about a {@value #COST_FACTOR}th of the database's time counting (on a store of a million
 * rows, a count a second made the workers' work-off 1.5 times as long). And each queue's
 * throughput: the tasks that ended per minute, from the overviews this console read in the last
 * minute.
 *
 * <p>Thread-safe. The lock of this object guards {@link #last} and {@link #history}; it is never held
 * while an admin is called: a reader decides under it whether the last read is fresh, reads outside
 * it, and records under it again. Two readers that find it stale at once both read; the later
 * record wins, which costs one extra read and loses nothing.
 */
final class QueueSampler {
  /** How long one read of the overviews serves every page, at least. */
  static final Duration FRESH = Duration.ofSeconds(1);

  /** A read serves for this many times as long as it took, if that is longer than {@link #FRESH}. */
  static final int COST_FACTOR = 20;

  /** How far back the throughput looks. */
  static final Duration WINDOW = Duration.ofSeconds(60);

  /**
   * One queue's row on the queues page.
   *
   * @param source the number of the admin that answered for it
   * @param overview its counts
   * @param endedPerMinute tasks ended per minute over the last minute, or -1 before the console has
   *     two reads of it a second or more apart
   */
  record Row(int source, QueueOverview overview, double endedPerMinute) {}

  private record Sample(Instant at, long ended) {}

  /** The rows read at {@code at}, which serve until {@code at + fresh}. */
  private record Snapshot(Instant at, Duration fresh, List<Row> rows) {}

  private final List<QueueAdmin> admins;
  private final Clock clock;

  /** Guarded by {@code this}. */
  private @Nullable Snapshot last;

  /** Guarded by {@code this}: per admin and queue, the ended counts read in the last {@link #WINDOW}. */
  private final Map<String, ArrayDeque<Sample>> history = new HashMap<>();

  QueueSampler(List<QueueAdmin> admins, Clock clock) {
    this.admins = admins;
    this.clock = clock;
  }

  /** Every queue of every admin, in the admins' order, each admin's sorted by name. */
  List<Row> rows() throws SQLException {
    synchronized (this) {
      Snapshot s = last;
      if (s != null && Duration.between(s.at(), clock.instant()).compareTo(s.fresh()) < 0) {
        return s.rows();
      }
    }
    Instant start = clock.instant();
    List<List<QueueOverview>> read = new ArrayList<>(admins.size());
    for (QueueAdmin admin : admins) {
      read.add(admin.queues());
    }
    Instant now = clock.instant();
    Duration fresh = max(FRESH, Duration.between(start, now).multipliedBy(COST_FACTOR));
    List<Row> rows = new ArrayList<>();
    synchronized (this) {
      for (int source = 0; source < read.size(); source++) {
        for (QueueOverview q : read.get(source)) {
          ArrayDeque<Sample> samples = history.computeIfAbsent(source + "/" + q.queue(), k -> new ArrayDeque<>());
          samples.addLast(new Sample(now, q.succeeded() + q.failed() + q.cancelled()));
          while (samples.size() > 2 && Duration.between(samples.peekFirst().at(), now).compareTo(WINDOW) > 0) {
            samples.removeFirst();
          }
          rows.add(new Row(source, q, rate(samples)));
        }
      }
      last = new Snapshot(now, fresh, List.copyOf(rows));
    }
    return rows;
  }

  /** The names of every queue, sorted, from the last read (reading if it is stale). */
  List<String> queueNames() throws SQLException {
    TreeSet<String> names = new TreeSet<>();
    rows().forEach(r -> names.add(r.overview().queue()));
    return List.copyOf(names);
  }

  /** Makes the next {@link #rows()} read again: an action changed what they show. */
  synchronized void invalidate() {
    last = null;
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  private static double rate(ArrayDeque<Sample> samples) {
    Sample first = samples.peekFirst();
    Sample latest = samples.peekLast();
    if (first == null || latest == null || first == latest) {
      return -1;
    }
    long ms = Duration.between(first.at(), latest.at()).toMillis();
    if (ms < 1_000) {
      return -1;
    }
    // A store prunes ended rows after their retention, which lowers its count: never below zero.
    return Math.max(0, latest.ended() - first.ended()) * 60_000.0 / ms;
  }
}
