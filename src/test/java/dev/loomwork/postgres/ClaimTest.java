package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.postgres.PostgresTypes.Claim;
import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import dev.loomwork.postgres.PostgresTypes.State;
import dev.loomwork.postgres.PostgresTypes.StoredTask;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Claims: one statement, due ready tasks in order, never more than asked, disjoint under concurrency. */
@ExtendWith(PostgresExtension.class)
class ClaimTest {
  static final Duration LEASE = Duration.ofMinutes(5);

  final DataSource ds;
  final PostgresTasks tasks;

  ClaimTest(StoreFixture store) {
    this.ds = store.ds();
    this.tasks = store.tasks();
  }

  long enqueue(String queue, String handler) throws Exception {
    return tasks.enqueue(NewTask.of(queue, handler, "{}")).id();
  }

  @Test
  void claimsDueReadyTasksInRunAtThenIdOrderAndMarksThemRunning() throws Exception {
    long worker = tasks.register("q", LEASE);
    long a = enqueue("q", "h");
    long b = enqueue("q", "h");
    long c = enqueue("q", "h");
    // b becomes the oldest by run_at; a and c tie on run_at and go by id.
    Sql.exec(ds, "UPDATE loomwork_task SET run_at = now() - interval '1 hour' WHERE id = ?", b);
    Sql.exec(ds, "UPDATE loomwork_task SET run_at = now() - interval '1 minute' WHERE id IN (?, ?)", a, c);

    Claim claim = tasks.claim("q", List.of("h"), worker, 10);

    assertTrue(claim.leaseLive());
    assertEquals(List.of(b, a, c), claim.tasks().stream().map(Claimed::id).toList());
    for (Claimed t : claim.tasks()) {
      assertEquals(1, t.attempt());
      StoredTask row = tasks.find(t.id()).orElseThrow();
      assertEquals(State.RUNNING, row.state());
      assertEquals(worker, row.owner());
      assertEquals(1, row.attempt());
      assertNotNull(row.attemptedAt());
    }
  }

  @Test
  void neverMoreThanAskedAndTheRestStaysReady() throws Exception {
    long worker = tasks.register("q", LEASE);
    for (int i = 0; i < 5; i++) {
      enqueue("q", "h");
    }
    assertEquals(2, tasks.claim("q", List.of("h"), worker, 2).tasks().size());
    assertEquals(0, tasks.claim("q", List.of("h"), worker, 0).tasks().size());
    assertEquals(3, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state = 'ready'"));
    assertEquals(3, tasks.claim("q", List.of("h"), worker, 100).tasks().size());
    assertEquals(List.of(), tasks.claim("q", List.of("h"), worker, 100).tasks());
  }

  @Test
  void neverAFutureTaskAnotherQueueOrAnUnregisteredHandler() throws Exception {
    long worker = tasks.register("q", LEASE);
    long due = enqueue("q", "h");
    tasks.enqueue(NewTask.of("q", "h", "{}").delay(Duration.ofMinutes(1)));
    tasks.enqueue(NewTask.of("q", "h", "{}").notBefore(java.time.Instant.now().plusSeconds(3600)));
    enqueue("other", "h");
    enqueue("q", "unregistered");

    Claim claim = tasks.claim("q", List.of("h", "also"), worker, 100);

    assertEquals(List.of(due), claim.tasks().stream().map(Claimed::id).toList());
    assertEquals(List.of(), tasks.claim("q", List.of(), worker, 100).tasks());
  }

  @Test
  void theClaimIsCommittedAndCarriesTheTask() throws Exception {
    long worker = tasks.register("q", LEASE);
    long id =
        tasks
            .enqueue(NewTask.of("q", "email.welcome", "{\"to\": \"a@example.com\"}").named("welcome").maxAttempts(3)
                .within(Duration.ofHours(1)).uniqueKey("k"))
            .id();

    Claimed t = tasks.claim("q", List.of("email.welcome"), worker, 1).tasks().getFirst();

    assertEquals(id, t.id());
    assertEquals("email.welcome", t.handler());
    assertEquals("{\"to\": \"a@example.com\"}", t.payloadJson());
    assertEquals("welcome", t.name());
    assertEquals(3, t.maxAttempts());
    assertEquals(Duration.ofHours(1), Duration.between(tasks.find(id).orElseThrow().createdAt(), t.deadline()));
    // Another connection sees it running: the claim committed before returning.
    assertEquals("running", Sql.value(ds, "SELECT state FROM loomwork_task WHERE id = ?", id));
  }

  @Test
  void isOneStatement() throws Exception {
    long worker = tasks.register("q", LEASE);
    enqueue("q", "h");
    List<String> calls = Sql.calls();
    new PostgresTasks(Sql.recording(ds, calls)).claim("q", List.of("h"), worker, 10);
    assertEquals(1, calls.stream().filter(m -> m.startsWith("prepare") || m.equals("createStatement")).count(), calls::toString);
    assertFalse(calls.contains("commit"), "an auto-commit connection commits the statement itself: " + calls);
  }

  @Test
  void commitsOnAConnectionWithAutoCommitOff() throws Exception {
    long worker = tasks.register("q", LEASE);
    long id = enqueue("q", "h");
    PostgresTasks manual =
        new PostgresTasks(
            new DelegatingDataSource(ds) {
              @Override
              public Connection getConnection() throws java.sql.SQLException {
                Connection c = ds.getConnection();
                c.setAutoCommit(false);
                return c;
              }
            });
    assertEquals(1, manual.claim("q", List.of("h"), worker, 1).tasks().size());
    assertEquals("running", Sql.value(ds, "SELECT state FROM loomwork_task WHERE id = ?", id));
  }

  @Test
  void aWorkerWithoutALiveLeaseClaimsNothing() throws Exception {
    long expired = tasks.register("q", LEASE);
    long gone = tasks.register("q", LEASE);
    enqueue("q", "h");
    Sql.exec(ds, "UPDATE loomwork_worker SET expires_at = now() - interval '1 second' WHERE id = ?", expired);
    tasks.deregister(gone);

    Claim fromExpired = tasks.claim("q", List.of("h"), expired, 1);
    Claim fromGone = tasks.claim("q", List.of("h"), gone, 1);
    Claim fromNever = tasks.claim("q", List.of("h"), 123_456_789L, 1);

    for (Claim c : List.of(fromExpired, fromGone, fromNever)) {
      assertFalse(c.leaseLive());
      assertEquals(List.of(), c.tasks());
    }
    assertEquals(1, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state = 'ready'"));
  }

  @Test
  void skipsRowsAnotherTransactionHoldsInsteadOfWaiting() throws Exception {
    long worker = tasks.register("q", LEASE);
    long first = enqueue("q", "h");
    long second = enqueue("q", "h");
    try (Connection holder = ds.getConnection()) {
      holder.setAutoCommit(false);
      Sql.value(holder, "SELECT id FROM loomwork_task WHERE id = ? FOR UPDATE", first);

      Claim claim = tasks.claim("q", List.of("h"), worker, 2);

      assertEquals(List.of(second), claim.tasks().stream().map(Claimed::id).toList());
      holder.rollback();
    }
    assertEquals(List.of(first), tasks.claim("q", List.of("h"), worker, 2).tasks().stream().map(Claimed::id).toList());
  }

  @Test
  void nextDueIsTheWaitForTheEarliestReadyTaskInDatabaseTime() throws Exception {
    assertEquals(java.util.Optional.empty(), tasks.nextDue("q", List.of("h")), "nothing ready");
    tasks.enqueue(NewTask.of("q", "h", "{}").delay(Duration.ofHours(2)));
    tasks.enqueue(NewTask.of("q", "h", "{}").delay(Duration.ofHours(1)));
    tasks.enqueue(NewTask.of("q", "unregistered", "{}"));
    Duration wait = tasks.nextDue("q", List.of("h")).orElseThrow();
    assertTrue(wait.compareTo(Duration.ofHours(1)) <= 0 && wait.compareTo(Duration.ofMinutes(59)) > 0, wait::toString);
    assertEquals(java.util.Optional.empty(), tasks.nextDue("q", List.of()));
    enqueue("q", "h");
    Sql.exec(ds, "UPDATE loomwork_task SET run_at = now() - interval '1 minute' WHERE handler = 'h' AND run_at <= now()");
    assertEquals(Duration.ZERO, tasks.nextDue("q", List.of("h")).orElseThrow(), "one is due now");
  }

  @Test
  void concurrentClaimersNeverGetTheSameTask() throws Exception {
    int total = 1_000;
    int workers = 2;
    Sql.exec(
        ds,
        "INSERT INTO loomwork_task (queue, handler, payload) SELECT 'q', 'h', jsonb_build_object('n', n)"
            + " FROM generate_series(1, ?) AS n",
        total);
    List<Long> ids = Sql.longs(ds, "SELECT id FROM loomwork_task");
    CountDownLatch start = new CountDownLatch(1);
    List<Future<List<Long>>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(workers)) {
      for (int w = 0; w < workers; w++) {
        long worker = tasks.register("q", LEASE);
        results.add(
            pool.submit(
                () -> {
                  List<Long> mine = new ArrayList<>();
                  start.await();
                  while (true) {
                    int n = ThreadLocalRandom.current().nextInt(1, 12);
                    List<Claimed> got = tasks.claim("q", List.of("h"), worker, n).tasks();
                    if (got.isEmpty()) {
                      return mine;
                    }
                    assertTrue(got.size() <= n, "claimed " + got.size() + " of " + n);
                    got.forEach(t -> mine.add(t.id()));
                  }
                }));
      }
      start.countDown();
      List<Long> all = new ArrayList<>();
      for (Future<List<Long>> f : results) {
        List<Long> mine = f.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
        assertFalse(mine.isEmpty(), "each worker claimed something");
        all.addAll(mine);
      }
      Set<Long> distinct = new HashSet<>(all);
      assertEquals(total, all.size(), "claimed in all");
      assertEquals(new HashSet<>(ids), distinct, "each task claimed exactly once");
    }
    assertEquals(total, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state = 'running' AND attempt = 1"));
  }
}
