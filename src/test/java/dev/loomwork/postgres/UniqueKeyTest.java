package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.postgres.PostgresTypes.Enqueued;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import dev.loomwork.internal.DurableBackend.Outcome;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;

/** Unique keys: at most one pending or running task per queue and key, and no task lost to a race. */
@ExtendWith(PostgresExtension.class)
class UniqueKeyTest {
  static final NewTask KEYED = NewTask.of("q", "h", "{}").uniqueKey("order-42").maxAttempts(3);

  final DataSource ds;
  final PostgresTasks tasks;

  UniqueKeyTest(StoreFixture store) {
    this.ds = store.ds();
    this.tasks = store.tasks();
  }

  long rows() throws Exception {
    return Sql.count(ds, "SELECT count(*) FROM loomwork_task");
  }

  @Test
  void aDuplicateReturnsTheLiveTasksIdAndInsertsNothing() throws Exception {
    Enqueued first = tasks.enqueue(KEYED);
    Enqueued second = tasks.enqueue(KEYED.named("again"));
    assertTrue(first.created());
    assertFalse(second.created());
    assertEquals(first.id(), second.id());
    assertEquals(1, rows());
  }

  @Test
  void theKeyIsPerQueueAndTasksWithoutKeysNeverConflict() throws Exception {
    Enqueued q = tasks.enqueue(KEYED);
    Enqueued other = tasks.enqueue(NewTask.of("other", "h", "{}").uniqueKey("order-42"));
    tasks.enqueue(NewTask.of("q", "h", "{}"));
    tasks.enqueue(NewTask.of("q", "h", "{}"));
    assertTrue(other.created());
    assertNotEquals(q.id(), other.id());
    assertEquals(4, rows());
  }

  @Test
  void theKeyIsHeldWhileRunningAndRetryingAndFreeOnceTheTaskEnds() throws Exception {
    long worker = tasks.register("q", Duration.ofMinutes(5));
    long id = tasks.enqueue(KEYED).id();
    Claimed running = tasks.claim("q", List.of("h"), worker, 1).tasks().getFirst();
    assertEquals(id, tasks.enqueue(KEYED).id(), "held while running");

    tasks.complete(worker, List.of(Outcome.retry(id, running.attempt(), Duration.ofHours(1), null)));
    assertEquals(id, tasks.enqueue(KEYED).id(), "held while waiting for a retry");

    Sql.exec(ds, "UPDATE loomwork_task SET run_at = now() WHERE id = ?", id);
    Claimed again = tasks.claim("q", List.of("h"), worker, 1).tasks().getFirst();
    tasks.complete(worker, List.of(Outcome.succeeded(id, again.attempt())));
    Enqueued afterSuccess = tasks.enqueue(KEYED);
    assertTrue(afterSuccess.created(), "free after success");

    tasks.cancel(afterSuccess.id());
    assertTrue(tasks.enqueue(KEYED).created(), "free after a cancel");
    assertEquals(3, rows());
  }

  /**
   * An insert racing another transaction's uncommitted insert of the same key waits for it: if the
   * first commits, the second returns its id (though it committed after the statement's snapshot);
   * if it rolls back, the second inserts.
   */
  @ParameterizedTest(name = "the first transaction commits: {0}")
  @ValueSource(booleans = {true, false})
  void anInsertWaitingOnAnotherInsertOfTheSameKeyFollowsItsEnd(boolean firstCommits) throws Exception {
    try (Connection first = ds.getConnection();
        Connection second = ds.getConnection();
        ExecutorService pool = Executors.newSingleThreadExecutor()) {
      first.setAutoCommit(false);
      second.setAutoCommit(false);
      long firstId = PostgresEnqueue.enqueue(first, KEYED).id();
      int secondPid = Sql.pid(second);

      Future<Enqueued> waiting = pool.submit(() -> PostgresEnqueue.enqueue(second, KEYED));
      Sql.awaitWaitingForLock(ds, secondPid);
      assertFalse(waiting.isDone(), "waits for the first transaction");
      if (firstCommits) {
        first.commit();
      } else {
        first.rollback();
      }

      Enqueued e = waiting.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
      assertEquals(!firstCommits, e.created(), "inserted only if the first rolled back");
      if (firstCommits) {
        assertEquals(firstId, e.id(), "the winner's id");
      } else {
        assertNotEquals(firstId, e.id());
      }
      second.commit();
    }
    assertEquals(1, rows());
  }

  @Test
  void eightRacingEnqueuersMakeOneRow() throws Exception {
    int racers = 8;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Enqueued>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(racers)) {
      for (int i = 0; i < racers; i++) {
        results.add(
            pool.submit(
                () -> {
                  try (Connection c = ds.getConnection()) {
                    c.setAutoCommit(false);
                    start.await();
                    Enqueued e = PostgresEnqueue.enqueue(c, KEYED);
                    c.commit();
                    return e;
                  }
                }));
      }
      start.countDown();
      List<Enqueued> all = new ArrayList<>();
      for (Future<Enqueued> f : results) {
        all.add(f.get(GENEROUS_SECONDS, TimeUnit.SECONDS));
      }
      assertEquals(1, all.stream().filter(Enqueued::created).count(), all::toString);
      assertEquals(1, all.stream().map(Enqueued::id).distinct().count(), all::toString);
    }
    assertEquals(1, rows());
  }
}
