package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.internal.DurableBackend.Counts;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import dev.loomwork.internal.DurableBackend.Outcome;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Retention pruning in batches behind the maintenance lock, and counts by state. */
@ExtendWith(PostgresExtension.class)
class RetentionTest {
  static final Duration DAY = Duration.ofDays(1);
  static final Duration WEEK = Duration.ofDays(7);

  final DataSource ds;
  final PostgresTasks tasks;
  final long worker;

  RetentionTest(StoreFixture store) throws Exception {
    this.ds = store.ds();
    this.tasks = store.tasks();
    this.worker = tasks.register("q", Duration.ofMinutes(5));
  }

  /** Ends {@code n} tasks with {@code how}, and dates their end {@code age} back. */
  List<Long> ended(int n, String how, Duration age) throws Exception {
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(tasks.enqueue(NewTask.of("q", how, "{}")).id());
    }
    List<Claimed> claimed = tasks.claim("q", List.of(how), worker, n).tasks();
    List<Outcome> outcomes = new ArrayList<>();
    for (Claimed c : claimed) {
      outcomes.add(
          switch (how) {
            case "succeeded" -> Outcome.succeeded(c.id(), c.attempt());
            case "failed" -> Outcome.failed(c.id(), c.attempt(), null);
            default -> Outcome.cancelled(c.id(), c.attempt(), null);
          });
    }
    tasks.complete(worker, outcomes);
    for (long id : ids) {
      Sql.exec(ds, "UPDATE loomwork_task SET finished_at = now() - ?::bigint * interval '1 second' WHERE id = ?", age.toSeconds(), id);
    }
    return ids;
  }

  @Test
  void prunesEndedTasksPastTheirRetentionInBatches() throws Exception {
    ended(5, "succeeded", DAY.plusHours(1));
    List<Long> recentSuccess = ended(2, "succeeded", Duration.ofHours(23));
    ended(3, "failed", WEEK.plusHours(1));
    List<Long> recentFailure = ended(2, "failed", Duration.ofDays(6));
    ended(1, "cancelled", WEEK.plusDays(1));
    long ready = tasks.enqueue(NewTask.of("q", "h", "{}")).id();
    Sql.exec(ds, "UPDATE loomwork_task SET created_at = now() - interval '1 year', run_at = now() - interval '1 year' WHERE id = ?", ready);

    List<String> calls = Sql.calls();
    OptionalLong deleted = new PostgresTasks(Sql.recording(ds, calls)).prune(DAY, WEEK, 2);

    assertEquals(OptionalLong.of(9), deleted);
    List<Long> left = Sql.longs(ds, "SELECT id FROM loomwork_task ORDER BY id");
    List<Long> expected = new ArrayList<>(recentSuccess);
    expected.addAll(recentFailure);
    expected.add(ready);
    assertEquals(expected.stream().sorted().toList(), left);
    // Batches of 2: succeeded 2+2+1, failed 2+1, cancelled 1; each its own transaction.
    assertEquals(6, calls.stream().filter(m -> m.equals("commit")).count(), calls::toString);
    assertEquals(OptionalLong.of(0), tasks.prune(DAY, WEEK, 100));
  }

  @Test
  void aZeroRetentionPrunesEveryEndedTask() throws Exception {
    ended(2, "succeeded", Duration.ofSeconds(1));
    ended(1, "cancelled", Duration.ofSeconds(1));
    assertEquals(OptionalLong.of(3), tasks.prune(Duration.ZERO, Duration.ZERO, 10));
  }

  @Test
  void oneProcessPrunesAtATime() throws Exception {
    ended(3, "succeeded", WEEK);
    try (Connection other = ds.getConnection()) {
      other.setAutoCommit(false);
      Sql.exec(other, "SELECT pg_advisory_xact_lock(?)", PostgresMaintenance.PRUNE_LOCK);
      assertEquals(OptionalLong.empty(), tasks.prune(DAY, WEEK, 10), "another process holds the maintenance lock");
      other.commit();
    }
    assertEquals(OptionalLong.of(3), tasks.prune(DAY, WEEK, 10));
  }

  @Test
  void refusesANonsenseBatchOrRetention() {
    assertThrows(IllegalArgumentException.class, () -> tasks.prune(DAY, WEEK, 0));
    assertThrows(IllegalArgumentException.class, () -> tasks.prune(Duration.ofSeconds(-1), WEEK, 10));
  }

  @Test
  void countsAQueuesTasksByStateInDatabaseTime() throws Exception {
    ended(2, "succeeded", Duration.ZERO);
    ended(1, "failed", Duration.ZERO);
    ended(3, "cancelled", Duration.ZERO);
    tasks.enqueue(NewTask.of("q", "h", "{}"));
    tasks.enqueue(NewTask.of("q", "h", "{}"));
    tasks.enqueue(NewTask.of("q", "h", "{}"));
    tasks.enqueue(NewTask.of("q", "h", "{}").delay(Duration.ofHours(1)));
    tasks.enqueue(NewTask.of("other", "h", "{}"));
    tasks.claim("q", List.of("h"), worker, 1);

    assertEquals(new Counts(2, 1, 1, 2, 1, 3), tasks.counts("q"));
    assertEquals(new Counts(1, 0, 0, 0, 0, 0), tasks.counts("other"));
    assertEquals(new Counts(0, 0, 0, 0, 0, 0), tasks.counts("none"));
  }
}
