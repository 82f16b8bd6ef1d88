package dev.loomwork.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loomwork.admin.PageRequest;
import dev.loomwork.admin.QueueAdmin;
import dev.loomwork.admin.QueueOverview;
import dev.loomwork.admin.TaskCount;
import dev.loomwork.admin.TaskDetail;
import dev.loomwork.admin.TaskFilter;
import dev.loomwork.admin.TaskPage;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The queues page's counts: read at most once a second, and, when a read is slow (a store's counts
 * read the table), at most once per {@link QueueSampler#COST_FACTOR} times its duration, so that the
 * console's share of the database stays small however large the store.
 */
class QueueSamplerTest {

  @Test
  void aFastReadServesForOneSecond() throws Exception {
    ManualClock clock = new ManualClock();
    SlowCounts admin = new SlowCounts(clock, Duration.ofMillis(10));
    QueueSampler sampler = new QueueSampler(List.of(admin), clock);

    sampler.rows();
    clock.advance(Duration.ofMillis(900));
    sampler.rows();
    assertEquals(1, admin.reads, "within a second of the last read, its rows serve");
    clock.advance(Duration.ofMillis(200));
    sampler.rows();
    assertEquals(2, admin.reads);
  }

  @Test
  void aSlowReadServesForTwentyTimesItsDuration() throws Exception {
    ManualClock clock = new ManualClock();
    SlowCounts admin = new SlowCounts(clock, Duration.ofMillis(300)); // serves for 6 s
    QueueSampler sampler = new QueueSampler(List.of(admin), clock);

    sampler.rows();
    clock.advance(Duration.ofMillis(5_900));
    sampler.rows();
    assertEquals(1, admin.reads, "a read of 300 ms serves for 6 s");
    clock.advance(Duration.ofMillis(200));
    sampler.rows();
    assertEquals(2, admin.reads);
  }

  @Test
  void anActionMakesTheNextPageReadAgainHoweverSlowTheLastRead() throws Exception {
    ManualClock clock = new ManualClock();
    SlowCounts admin = new SlowCounts(clock, Duration.ofSeconds(1));
    QueueSampler sampler = new QueueSampler(List.of(admin), clock);

    sampler.rows();
    sampler.invalidate();
    sampler.rows();
    assertEquals(2, admin.reads);
  }

  /** A clock the test moves. */
  private static final class ManualClock extends Clock {
    private Instant now = Instant.parse("2026-12-08T00:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  /** Counts its reads of the overviews, each of which takes {@code cost} on the clock. */
  private static final class SlowCounts implements QueueAdmin {
    final ManualClock clock;
    final Duration cost;
    int reads;

    SlowCounts(ManualClock clock, Duration cost) {
      this.clock = clock;
      this.cost = cost;
    }

    @Override
    public List<QueueOverview> queues() {
      reads++;
      clock.advance(cost);
      return List.of();
    }

    @Override
    public List<TaskCount> counts(TaskFilter filter) {
      throw new UnsupportedOperationException();
    }

    @Override
    public TaskPage list(TaskFilter filter, PageRequest page) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Optional<TaskDetail> task(String queue, String id) {
      throw new UnsupportedOperationException();
    }
  }
}
