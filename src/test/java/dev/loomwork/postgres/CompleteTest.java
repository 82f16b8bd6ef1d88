package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.postgres.PostgresTypes.Applied;
import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.postgres.PostgresTypes.Completion;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import dev.loomwork.internal.DurableBackend.Outcome;
import dev.loomwork.postgres.PostgresTypes.State;
import dev.loomwork.postgres.PostgresTypes.StoredTask;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Completions: batched in one statement, fenced on state, owner and attempt. */
@ExtendWith(PostgresExtension.class)
class CompleteTest {
  static final Duration LEASE = Duration.ofMinutes(5);

  final DataSource ds;
  final PostgresTasks tasks;
  final long worker;

  CompleteTest(StoreFixture store) throws Exception {
    this.ds = store.ds();
    this.tasks = store.tasks();
    this.worker = tasks.register("q", LEASE);
  }

  /** Enqueues {@code n} tasks of up to 3 attempts and claims them all for {@link #worker}. */
  List<Claimed> running(int n) throws Exception {
    for (int i = 0; i < n; i++) {
      tasks.enqueue(NewTask.of("q", "h", "{}").maxAttempts(3));
    }
    List<Claimed> claimed = tasks.claim("q", List.of("h"), worker, n).tasks();
    assertEquals(n, claimed.size());
    return claimed;
  }

  static Map<Long, State> states(Completion c) {
    return c.applied().stream().collect(Collectors.toMap(Applied::id, Applied::state));
  }

  @Test
  void writesEveryKindOfOutcomeInOneStatement() throws Exception {
    List<Claimed> c = running(4);
    IOException error = new IOException("boom \"quoted\"\n");
    List<String> calls = Sql.calls();

    Completion done =
        new PostgresTasks(Sql.recording(ds, calls))
            .complete(
                worker,
                List.of(
                    Outcome.succeeded(c.get(0).id(), 1),
                    Outcome.failed(c.get(1).id(), 1, error),
                    Outcome.retry(c.get(2).id(), 1, Duration.ofSeconds(30), error),
                    Outcome.cancelled(c.get(3).id(), 1, null)));

    assertEquals(1, calls.stream().filter(m -> m.startsWith("prepare")).count(), calls::toString);
    assertEquals(List.of(), done.fencedOut());
    assertEquals(
        Map.of(
            c.get(0).id(), State.SUCCEEDED,
            c.get(1).id(), State.FAILED,
            c.get(2).id(), State.READY,
            c.get(3).id(), State.CANCELLED),
        states(done));

    StoredTask succeeded = tasks.find(c.get(0).id()).orElseThrow();
    assertNull(succeeded.owner());
    assertEquals(succeeded.updatedAt(), succeeded.finishedAt());

    StoredTask failed = tasks.find(c.get(1).id()).orElseThrow();
    assertNotNull(failed.finishedAt());
    assertEquals("boom \"quoted\"\n", Sql.value(ds, "SELECT last_error ->> 'message' FROM loomwork_task WHERE id = ?", failed.id()));
    assertEquals("java.io.IOException", Sql.value(ds, "SELECT last_error ->> 'type' FROM loomwork_task WHERE id = ?", failed.id()));
    assertEquals(1, ((Number) Sql.value(ds, "SELECT (last_error -> 'attempt')::int FROM loomwork_task WHERE id = ?", failed.id())).intValue());
    assertEquals(worker, ((Number) Sql.value(ds, "SELECT (last_error -> 'worker')::bigint FROM loomwork_task WHERE id = ?", failed.id())).longValue());
    assertTrue(
        ((String) Sql.value(ds, "SELECT last_error ->> 'stack' FROM loomwork_task WHERE id = ?", failed.id()))
            .startsWith("java.io.IOException: boom \"quoted\"\n\n\tat dev.loomwork.postgres.CompleteTest."),
        "the stack trace, from the exception");

    StoredTask retry = tasks.find(c.get(2).id()).orElseThrow();
    assertEquals(State.READY, retry.state());
    assertEquals(1, retry.attempt(), "the attempt count stays; the next claim makes it 2");
    assertNull(retry.finishedAt());
    assertNull(retry.owner());
    assertEquals(Duration.ofSeconds(30), Duration.between(retry.updatedAt(), retry.runAt()), "now() + delay, in database time");
    assertNotNull(retry.lastErrorJson());

    assertNotNull(tasks.find(c.get(3).id()).orElseThrow().finishedAt());
  }

  @Test
  void aRetriedTaskIsClaimedAgainWithTheNextAttemptAndKeepsItsLastError() throws Exception {
    Claimed first = running(1).getFirst();
    tasks.complete(worker, List.of(Outcome.retry(first.id(), 1, Duration.ZERO, new IllegalStateException("m"))));

    Claimed second = tasks.claim("q", List.of("h"), worker, 1).tasks().getFirst();
    assertEquals(first.id(), second.id());
    assertEquals(2, second.attempt());

    tasks.complete(worker, List.of(Outcome.succeeded(second.id(), 2)));
    StoredTask t = tasks.find(first.id()).orElseThrow();
    assertEquals(State.SUCCEEDED, t.state());
    assertEquals("m", Sql.value(ds, "SELECT last_error ->> 'message' FROM loomwork_task WHERE id = ?", t.id()));
  }

  @Test
  void fencesOutAnotherOwnerAStaleAttemptAndATaskNotRunning() throws Exception {
    List<Claimed> c = running(3);
    long intruder = tasks.register("q", LEASE);
    tasks.complete(worker, List.of(Outcome.succeeded(c.get(2).id(), 1)));

    Outcome wrongOwner = Outcome.succeeded(c.get(0).id(), 1);
    Completion byIntruder = tasks.complete(intruder, List.of(wrongOwner));
    assertEquals(List.of(wrongOwner), byIntruder.fencedOut());
    assertEquals(List.of(), byIntruder.applied());

    Outcome staleAttempt = Outcome.failed(c.get(0).id(), 7, null);
    Outcome notRunning = Outcome.failed(c.get(2).id(), 1, null);
    Outcome good = Outcome.succeeded(c.get(1).id(), 1);
    Completion mixed = tasks.complete(worker, List.of(staleAttempt, good, notRunning));
    assertEquals(List.of(staleAttempt, notRunning), mixed.fencedOut());
    assertEquals(List.of(new Applied(c.get(1).id(), State.SUCCEEDED)), mixed.applied());

    assertEquals(State.RUNNING, tasks.find(c.get(0).id()).orElseThrow().state(), "fenced-out outcomes change nothing");
    assertEquals(State.SUCCEEDED, tasks.find(c.get(2).id()).orElseThrow().state());
  }

  @Test
  void aCancelRequestedWhileRunningWinsOverTheOutcome() throws Exception {
    List<Claimed> c = running(2);
    assertEquals(State.RUNNING, tasks.cancel(c.get(0).id()).orElseThrow());
    assertEquals(State.RUNNING, tasks.cancel(c.get(1).id()).orElseThrow());
    assertTrue(tasks.find(c.get(0).id()).orElseThrow().cancelRequested());
    assertEquals(List.of(c.get(0).id(), c.get(1).id()), tasks.cancelRequested(worker), "the owner learns of them");
    assertEquals(List.of(), tasks.cancelRequested(worker + 1));

    Completion done =
        tasks.complete(
            worker,
            List.of(Outcome.succeeded(c.get(0).id(), 1), Outcome.retry(c.get(1).id(), 1, Duration.ZERO, null)));

    assertEquals(Map.of(c.get(0).id(), State.CANCELLED, c.get(1).id(), State.CANCELLED), states(done));
    assertEquals(List.of(), tasks.cancelRequested(worker));
    assertNotNull(tasks.find(c.get(1).id()).orElseThrow().finishedAt());
  }

  @Test
  void cancelEndsAReadyTaskAndLeavesAnEndedOneAlone() throws Exception {
    long ready = tasks.enqueue(NewTask.of("q", "h", "{}")).id();
    assertEquals(State.CANCELLED, tasks.cancel(ready).orElseThrow());
    assertEquals(State.CANCELLED, tasks.find(ready).orElseThrow().state());
    assertTrue(tasks.cancel(ready).isEmpty());
    assertTrue(tasks.cancel(987_654_321L).isEmpty());
    assertTrue(tasks.claim("q", List.of("h"), worker, 1).tasks().isEmpty());
  }

  @Test
  void refusesTwoOutcomesForOneTaskAndDoesNothingForNone() throws Exception {
    Claimed c = running(1).getFirst();
    assertThrows(
        IllegalArgumentException.class,
        () -> tasks.complete(worker, List.of(Outcome.succeeded(c.id(), 1), Outcome.failed(c.id(), 1, null))));
    assertEquals(State.RUNNING, tasks.find(c.id()).orElseThrow().state());
    List<String> calls = Sql.calls();
    Completion none = new PostgresTasks(Sql.recording(ds, calls)).complete(worker, List.of());
    assertEquals(List.of(), none.applied());
    assertEquals(List.of(), calls, "no connection borrowed");
  }

  @Test
  void errorJsonEscapesWhatJsonbNeeds() throws Exception {
    String nasty = "quote \" backslash \\ newline \n tab \t bell \u0007 nul \u0000 é 🦆 \u2028";
    String json = PostgresErrorJson.errorJson("T", nasty, null, 2, 9);
    assertEquals(
        nasty.replace('\u0000', '\ufffd'),
        Sql.value(ds, "SELECT ?::jsonb ->> 'message'", json));
    assertTrue(Sql.bool(ds, "SELECT ?::jsonb -> 'stack' = 'null'::jsonb", json));
    assertFalse(json.contains("\u0000"));
  }
}
