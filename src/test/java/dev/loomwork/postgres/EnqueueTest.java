package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.postgres.PostgresTypes.Enqueued;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import dev.loomwork.postgres.PostgresTypes.State;
import dev.loomwork.postgres.PostgresTypes.StoredTask;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Enqueue: on the caller's connection and in its transaction, and nothing else; the task's columns. */
@ExtendWith(PostgresExtension.class)
class EnqueueTest {
  final DataSource ds;
  final PostgresTasks tasks;

  EnqueueTest(StoreFixture store) {
    this.ds = store.ds();
    this.tasks = store.tasks();
  }

  long rows() throws SQLException {
    return Sql.count(ds, "SELECT count(*) FROM loomwork_task");
  }

  @Test
  void theTaskExistsIfAndOnlyIfTheCallerCommits() throws Exception {
    try (Connection caller = ds.getConnection()) {
      caller.setAutoCommit(false);
      long committed = PostgresEnqueue.enqueue(caller, NewTask.of("q", "h", "{}")).id();
      assertEquals(0, rows(), "invisible to others before the commit");
      assertEquals(1L, Sql.value(caller, "SELECT count(*) FROM loomwork_task"), "visible to the caller");
      caller.commit();
      assertEquals(1, rows());
      assertEquals(committed, Sql.value(ds, "SELECT id FROM loomwork_task"));

      PostgresEnqueue.enqueue(caller, NewTask.of("q", "h", "{}"));
      caller.rollback();
      assertEquals(1, rows(), "a rollback leaves no row");
    }
  }

  @Test
  void doesNothingElseToTheCallersConnection() throws Exception {
    try (Connection real = ds.getConnection()) {
      real.setAutoCommit(false);
      real.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      Sql.exec(real, "SET LOCAL application_name = 'caller'");
      Object xid = Sql.value(real, "SELECT pg_current_xact_id()");
      List<String> calls = Sql.calls();
      Connection caller = Sql.recording(real, calls);

      PostgresEnqueue.enqueue(caller, NewTask.of("q", "h", "{}"));
      PostgresEnqueue.enqueue(caller, NewTask.of("q", "h", "{}").uniqueKey("k"));
      PostgresEnqueue.enqueue(caller, NewTask.of("q", "h", "{}").uniqueKey("k"));

      assertEquals(Set.of("prepareStatement"), Set.copyOf(calls), "only statements: " + calls);
      assertFalse(real.isClosed());
      assertFalse(real.getAutoCommit());
      assertEquals(Connection.TRANSACTION_REPEATABLE_READ, real.getTransactionIsolation());
      assertEquals(xid.toString(), Sql.value(real, "SELECT pg_current_xact_id()").toString(), "same transaction");
      assertEquals("caller", Sql.value(real, "SELECT current_setting('application_name')"));
      assertEquals(0, rows());
      real.rollback();
    }
    assertEquals(0, rows());
  }

  @Test
  void onAnAutoCommitConnectionTheInsertCommitsItself() throws Exception {
    try (Connection caller = ds.getConnection()) {
      PostgresEnqueue.enqueue(caller, NewTask.of("q", "h", "{}"));
      assertTrue(caller.getAutoCommit());
    }
    assertEquals(1, rows());
  }

  @Test
  void theDataSourceEnqueueCommits() throws Exception {
    Enqueued e = tasks.enqueue(NewTask.of("q", "h", "{}"));
    assertTrue(e.created());
    assertEquals(1, rows());
  }

  @Test
  void writesTheTasksColumns() throws Exception {
    long id =
        tasks
            .enqueue(
                NewTask.of("mail", "email.welcome", "{\"b\": [1, 2], \"a\": \"\\u00e9\"}")
                    .named("welcome")
                    .maxAttempts(4))
            .id();
    StoredTask t = tasks.find(id).orElseThrow();
    assertEquals("mail", t.queue());
    assertEquals("email.welcome", t.handler());
    assertTrue(Sql.bool(ds, "SELECT payload = ?::jsonb FROM loomwork_task WHERE id = ?", "{\"a\": \"é\", \"b\": [1, 2]}", id));
    assertEquals("welcome", t.name());
    assertEquals(State.READY, t.state());
    assertEquals(0, t.attempt());
    assertEquals(4, t.maxAttempts());
    assertNull(t.deadline());
    assertNull(t.uniqueKey());
    assertNull(t.owner());
    assertFalse(t.cancelRequested());
    assertEquals(t.createdAt(), t.runAt(), "due at once, by the database's clock");
    assertNull(t.finishedAt());
    assertNull(t.lastErrorJson());
  }

  @Test
  void delayAndDeadlineAreCountedFromTheDatabasesNow() throws Exception {
    long id =
        tasks.enqueue(NewTask.of("q", "h", "{}").delay(Duration.ofMillis(90_500)).within(Duration.ofDays(2))).id();
    StoredTask t = tasks.find(id).orElseThrow();
    // created_at is now() too: the same transaction's clock, to the microsecond.
    assertEquals(Duration.ofMillis(90_500), Duration.between(t.createdAt(), t.runAt()));
    assertEquals(Duration.ofDays(2), Duration.between(t.createdAt(), t.deadline()));
  }

  @Test
  void aNotBeforeTimeIsKeptAndAPastOneMeansNow() throws Exception {
    Instant future = Instant.now().plus(3, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MICROS);
    long later = tasks.enqueue(NewTask.of("q", "h", "{}").notBefore(future)).id();
    long past = tasks.enqueue(NewTask.of("q", "h", "{}").notBefore(Instant.parse("2001-01-01T00:00:00Z"))).id();
    long far = tasks.enqueue(NewTask.of("q", "h", "{}").notBefore(Instant.MAX)).id();
    long huge = tasks.enqueue(NewTask.of("q", "h", "{}").delay(Duration.ofSeconds(Long.MAX_VALUE))).id();

    assertEquals(future, tasks.find(later).orElseThrow().runAt());
    StoredTask p = tasks.find(past).orElseThrow();
    assertEquals(p.createdAt(), p.runAt());
    assertEquals(PostgresOperations.MAX_INSTANT, tasks.find(far).orElseThrow().runAt());
    assertTrue(tasks.find(huge).orElseThrow().runAt().isAfter(Instant.parse("9000-01-01T00:00:00Z")));
  }

  @Test
  void refusesBadInputBeforeSendingAnything() {
    assertThrows(IllegalArgumentException.class, () -> NewTask.of(" ", "h", "{}"));
    assertThrows(IllegalArgumentException.class, () -> NewTask.of("q", "", "{}"));
    assertThrows(IllegalArgumentException.class, () -> NewTask.of("q", "h", "{}").maxAttempts(0));
    assertThrows(IllegalArgumentException.class, () -> NewTask.of("q", "h", "{}").delay(Duration.ofSeconds(-1)));
    assertThrows(IllegalArgumentException.class, () -> NewTask.of("q", "h", "{}").within(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> NewTask.of("q", "h", "{}").uniqueKey(""));
    assertThrows(NullPointerException.class, () -> NewTask.of("q", "h", null));
  }

  @Test
  void aPayloadThatIsNotJsonIsTheDatabasesErrorAndAbortsTheCallersTransaction() throws Exception {
    try (Connection caller = ds.getConnection()) {
      caller.setAutoCommit(false);
      SQLException e =
          assertThrows(SQLException.class, () -> PostgresEnqueue.enqueue(caller, NewTask.of("q", "h", "{not json")));
      assertEquals("22P02", e.getSQLState(), e.getMessage());
      caller.rollback();
    }
    assertEquals(0, rows());
  }

  @Test
  void timesAreTimestamptzWhateverTheSessionTimeZone() throws Exception {
    Instant at = Instant.parse("2030-06-01T12:00:00Z");
    long id;
    try (Connection caller = ds.getConnection()) {
      Sql.exec(caller, "SET TIME ZONE 'Pacific/Chatham'");
      id = PostgresEnqueue.enqueue(caller, NewTask.of("q", "h", "{}").notBefore(at)).id();
    }
    assertEquals(at, tasks.find(id).orElseThrow().runAt());
    assertNotNull(Sql.value(ds, "SELECT 1 FROM loomwork_task WHERE run_at = '2030-06-01 12:00:00+00'"));
  }
}
