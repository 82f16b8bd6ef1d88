package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.postgres.PostgresTypes.Applied;
import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.postgres.PostgresTypes.Completion;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import dev.loomwork.internal.DurableBackend.Outcome;
import dev.loomwork.postgres.PostgresTypes.Rescue;
import dev.loomwork.postgres.PostgresTypes.Rescued;
import dev.loomwork.postgres.PostgresTypes.State;
import dev.loomwork.postgres.PostgresTypes.StoredTask;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Worker leases, the rescuer, fencing after a rescue, and the release of a cutting shutdown. */
@ExtendWith(PostgresExtension.class)
class LeaseTest {
  static final Duration LEASE = Duration.ofMinutes(5);

  final DataSource ds;
  final PostgresTasks tasks;

  LeaseTest(StoreFixture store) {
    this.ds = store.ds();
    this.tasks = store.tasks();
  }

  void expire(long worker) throws Exception {
    Sql.exec(ds, "UPDATE loomwork_worker SET expires_at = now() - interval '1 second' WHERE id = ?", worker);
  }

  long enqueue(String handler, int maxAttempts) throws Exception {
    return tasks.enqueue(NewTask.of("q", handler, "{}").maxAttempts(maxAttempts)).id();
  }

  Claimed claimOne(long worker, String handler) throws Exception {
    return tasks.claim("q", List.of(handler), worker, 1).tasks().getFirst();
  }

  /** Issue 20, point 1: a rescued task keeps its place, ahead of the tasks enqueued meanwhile. */
  @Test
  void aRescuedTaskKeepsItsPlaceAheadOfTheBacklogEnqueuedMeanwhile() throws Exception {
    long dead = tasks.register("q", LEASE);
    long first = enqueue("h", 3);
    claimOne(dead, "h");
    List<Long> backlog = new java.util.ArrayList<>();
    for (int i = 0; i < 20; i++) {
      backlog.add(enqueue("h", 3)); // enqueued while the worker was dying
    }
    Sql.exec(ds, "UPDATE loomwork_worker SET expires_at = now() - interval '2 seconds' WHERE id = ?", dead);

    Rescue rescue = tasks.rescue().orElseThrow();
    PostgresTypes.Expired expired = rescue.expiredWorkers().getFirst();
    assertEquals(dead, expired.id());
    assertEquals("q", expired.queue());
    assertTrue(expired.late().compareTo(Duration.ofSeconds(2)) >= 0
        && expired.late().compareTo(Duration.ofMinutes(1)) < 0, "how late the rescue is: " + expired.late());

    long survivor = tasks.register("q", LEASE);
    assertEquals(first, claimOne(survivor, "h").id(), "the rescued task first, whatever the backlog");
    assertEquals(backlog.getFirst(), claimOne(survivor, "h").id());
  }

  @Test
  void registerWritesALeaseInDatabaseTime() throws Exception {
    long worker = tasks.register("q", Duration.ofSeconds(30));
    assertTrue(Sql.bool(ds, "SELECT expires_at - started_at = interval '30 seconds' FROM loomwork_worker WHERE id = ?", worker));
    assertEquals("q", Sql.value(ds, "SELECT queue FROM loomwork_worker WHERE id = ?", worker));
    assertTrue(tasks.register("q", LEASE) != worker, "every registration is a new worker");
  }

  @Test
  void heartbeatExtendsTheLeaseUntilTheRowIsGone() throws Exception {
    long worker = tasks.register("q", LEASE);
    expire(worker);
    assertTrue(tasks.heartbeat(worker, Duration.ofSeconds(45)), "an expired lease not yet rescued is renewed");
    assertTrue(
        Sql.bool(ds, "SELECT expires_at - heartbeat_at = interval '45 seconds' AND expires_at > now() FROM loomwork_worker WHERE id = ?", worker));
    assertTrue(tasks.deregister(worker));
    assertFalse(tasks.deregister(worker));
    assertFalse(tasks.heartbeat(worker, LEASE), "the row is gone: the lease is lost");
  }

  @Test
  void rescueReturnsALostWorkersTasksAndLeavesLiveWorkersAlone() throws Exception {
    long lost = tasks.register("q", LEASE);
    long live = tasks.register("q", LEASE);
    long retryable = enqueue("retryable", 2);
    long lastAttempt = enqueue("last", 1);
    long cancelling = enqueue("cancelling", 3);
    long others = enqueue("others", 1);
    claimOne(lost, "retryable");
    claimOne(lost, "last");
    claimOne(lost, "cancelling");
    claimOne(live, "others");
    tasks.cancel(cancelling);
    expire(lost);

    Rescue rescue = tasks.rescue().orElseThrow();

    assertEquals(List.of(lost), rescue.expiredWorkers().stream().map(PostgresTypes.Expired::id).toList());
    Map<Long, Rescued> byId = rescue.tasks().stream().collect(Collectors.toMap(Rescued::id, r -> r));
    assertEquals(new Rescued(retryable, "q", State.READY, 1, lost), byId.get(retryable));
    assertEquals(new Rescued(lastAttempt, "q", State.FAILED, 1, lost), byId.get(lastAttempt));
    assertEquals(new Rescued(cancelling, "q", State.CANCELLED, 1, lost), byId.get(cancelling));
    assertEquals(3, byId.size());

    StoredTask r = tasks.find(retryable).orElseThrow();
    assertNull(r.owner());
    assertNull(r.finishedAt());
    assertEquals(1, r.attempt(), "the lost attempt counts");
    assertEquals(r.createdAt(), r.runAt(), "keeps its place: the run_at it was enqueued with");
    assertEquals(PostgresLeases.WORKER_LOST, Sql.value(ds, "SELECT last_error ->> 'type' FROM loomwork_task WHERE id = ?", retryable));
    assertEquals(
        "worker " + lost + " lost its lease during attempt 1",
        Sql.value(ds, "SELECT last_error ->> 'message' FROM loomwork_task WHERE id = ?", retryable));
    assertNotNull(tasks.find(lastAttempt).orElseThrow().finishedAt());

    assertEquals(State.RUNNING, tasks.find(others).orElseThrow().state());
    assertEquals(live, tasks.find(others).orElseThrow().owner());
    assertEquals(List.of(live), Sql.longs(ds, "SELECT id FROM loomwork_worker"));

    Rescue nothing = tasks.rescue().orElseThrow();
    assertEquals(List.of(), nothing.expiredWorkers());
    assertEquals(List.of(), nothing.tasks());
  }

  @Test
  void aLostWorkersLateCompletionChangesNothing() throws Exception {
    long frozen = tasks.register("q", LEASE);
    long other = tasks.register("q", LEASE);
    long id = enqueue("h", 3);
    Claimed first = claimOne(frozen, "h");
    expire(frozen);
    tasks.rescue().orElseThrow();

    Outcome late = Outcome.succeeded(id, first.attempt());
    assertEquals(List.of(late), tasks.complete(frozen, List.of(late)).fencedOut(), "rescued: fenced out");
    assertEquals(State.READY, tasks.find(id).orElseThrow().state());

    Claimed second = claimOne(other, "h");
    assertEquals(2, second.attempt());
    assertEquals(List.of(late), tasks.complete(frozen, List.of(late)).fencedOut(), "another worker's attempt now");
    assertFalse(tasks.heartbeat(frozen, LEASE), "the frozen worker learns that its lease is lost");
    assertFalse(tasks.claim("q", List.of("h"), frozen, 1).leaseLive());

    Completion done = tasks.complete(other, List.of(Outcome.succeeded(id, 2)));
    assertEquals(List.of(new Applied(id, State.SUCCEEDED)), done.applied());
    StoredTask t = tasks.find(id).orElseThrow();
    assertEquals(State.SUCCEEDED, t.state());
    assertEquals(2, t.attempt());
  }

  @Test
  void rescueTakesTheRunningTasksOfADeregisteredWorker() throws Exception {
    long gone = tasks.register("q", LEASE);
    long id = enqueue("h", 2);
    claimOne(gone, "h");
    tasks.deregister(gone);

    Rescue rescue = tasks.rescue().orElseThrow();

    assertEquals(List.of(), rescue.expiredWorkers());
    assertEquals(List.of(new Rescued(id, "q", State.READY, 1, gone)), rescue.tasks());
  }

  @Test
  void oneRescuerAtATime() throws Exception {
    long lost = tasks.register("q", LEASE);
    long id = enqueue("h", 2);
    claimOne(lost, "h");
    expire(lost);
    try (Connection other = ds.getConnection()) {
      other.setAutoCommit(false);
      Sql.exec(other, "SELECT pg_advisory_xact_lock(?)", PostgresLeases.RESCUE_LOCK);

      assertEquals(Optional.empty(), tasks.rescue(), "another process is rescuing");
      assertEquals(State.RUNNING, tasks.find(id).orElseThrow().state());

      other.commit();
    }
    assertEquals(1, tasks.rescue().orElseThrow().tasks().size());
  }

  @Test
  void aLeaseRunsOutInDatabaseTime() throws Exception {
    long shortLived = tasks.register("q", Duration.ofSeconds(1));
    long id = enqueue("h", 2);
    claimOne(shortLived, "h");

    // Nothing renews it: poll the database's clock, bounded, until it has run out.
    Sql.awaitTrue(ds, "SELECT NOT EXISTS (SELECT 1 FROM loomwork_worker WHERE id = ? AND expires_at >= now())", shortLived);
    Rescue rescue = tasks.rescue().orElseThrow();

    assertEquals(List.of(shortLived), rescue.expiredWorkers().stream().map(PostgresTypes.Expired::id).toList());
    assertEquals(List.of(new Rescued(id, "q", State.READY, 1, shortLived)), rescue.tasks());
  }

  @Test
  void releaseReturnsCutTasksAndGivesTheirAttemptBack() throws Exception {
    long leaving = tasks.register("q", LEASE);
    long staying = tasks.register("q", LEASE);
    long a = enqueue("h", 1);
    long b = enqueue("h", 1);
    long c = enqueue("h", 1);
    long cancelled = enqueue("h", 1);
    long notMine = enqueue("h", 1);
    List<Long> mine = tasks.claim("q", List.of("h"), leaving, 4).tasks().stream().map(Claimed::id).toList();
    assertEquals(List.of(a, b, c, cancelled), mine);
    claimOne(staying, "h");
    tasks.cancel(cancelled);

    List<Applied> released = tasks.release(leaving, List.of(a, b, cancelled, notMine));
    tasks.deregister(leaving);

    assertEquals(
        Map.of(a, State.READY, b, State.READY, cancelled, State.CANCELLED),
        released.stream().collect(Collectors.toMap(Applied::id, Applied::state)));
    StoredTask ra = tasks.find(a).orElseThrow();
    assertEquals(0, ra.attempt(), "the attempt is given back: it was stopped, not failed");
    assertNull(ra.owner());
    assertEquals(State.RUNNING, tasks.find(c).orElseThrow().state(), "not in the list");
    assertEquals(staying, tasks.find(notMine).orElseThrow().owner(), "another worker's task is left alone");

    // Another process takes them at once, without waiting for a lease, with the same attempt number.
    List<Claimed> taken = tasks.claim("q", List.of("h"), staying, 10).tasks();
    assertEquals(List.of(a, b), taken.stream().map(Claimed::id).toList());
    assertEquals(List.of(1, 1), taken.stream().map(Claimed::attempt).toList());
  }
}
