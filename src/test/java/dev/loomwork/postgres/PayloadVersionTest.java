package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.Task;
import dev.loomwork.TaskType;
import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Payload versions (issue 20, point 3): a task records its type's version, and a worker claims only
 * payloads no newer than the version it registered for the handler.
 */
@ExtendWith(PostgresExtension.class)
class PayloadVersionTest {
  static final Duration LEASE = Duration.ofMinutes(5);

  final DataSource ds;
  final PostgresTasks tasks;

  PayloadVersionTest(StoreFixture store) {
    this.ds = store.ds();
    this.tasks = store.tasks();
  }

  long enqueue(String queue, int version) throws Exception {
    return tasks.enqueue(NewTask.of(queue, "h", "{}").version(version)).id();
  }

  static List<Long> ids(List<Claimed> claimed) {
    return claimed.stream().map(Claimed::id).toList();
  }

  @Test
  void anOldWorkersClaimSkipsANewerPayloadAndANewWorkerTakesOldAndNew() throws Exception {
    long old = tasks.register("vq", Map.of("h", 1), LEASE);
    long neu = tasks.register("vq", Map.of("h", 2), LEASE);
    long v2 = enqueue("vq", 2);
    long v1 = enqueue("vq", 1);

    assertEquals(List.of(v1), ids(tasks.claim("vq", Map.of("h", 1), old, 10).tasks()),
        "the old worker takes the old payload and leaves the newer one, although it is older by run_at");
    assertEquals(Optional.empty(), tasks.nextDue("vq", Map.of("h", 1)),
        "and does not wait for the newer one (else it would claim again at once, and spin)");
    assertEquals(Optional.of(Duration.ZERO), tasks.nextDue("vq", Map.of("h", 2)));
    assertEquals(List.of(v2), ids(tasks.claim("vq", Map.of("h", 2), neu, 10).tasks()));

    long a = enqueue("vq", 1);
    long b = enqueue("vq", 2);
    long c = enqueue("vq", 3);
    assertEquals(List.of(a, b), ids(tasks.claim("vq", Map.of("h", 2), neu, 10).tasks()),
        "a new worker reads old and new payloads, and leaves a payload newer than its own");
    assertEquals(1, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE id = ? AND state = 'ready'", c));
  }

  @Test
  void versionsArePerHandler() throws Exception {
    long worker = tasks.register("pq", Map.of("h", 1, "g", 3), LEASE);
    long h2 = tasks.enqueue(NewTask.of("pq", "h", "{}").version(2)).id();
    long g3 = tasks.enqueue(NewTask.of("pq", "g", "{}").version(3)).id();
    long g4 = tasks.enqueue(NewTask.of("pq", "g", "{}").version(4)).id();
    assertEquals(List.of(g3), ids(tasks.claim("pq", Map.of("h", 1, "g", 3), worker, 10).tasks()));
    assertEquals(2, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE id IN (?, ?) AND state = 'ready'", h2, g4));
  }

  @Test
  void aWorkerRowRecordsItsHandlersAndVersions() throws Exception {
    long worker = tasks.register("rq", Map.of("h", 2, "g", 1), LEASE);
    assertEquals(1, Sql.count(ds,
        "SELECT count(*) FROM loomwork_worker WHERE id = ? AND handlers = '{\"h\": 2, \"g\": 1}'::jsonb", worker));
    long none = tasks.register("rq", Map.of(), LEASE);
    assertEquals(1, Sql.count(ds, "SELECT count(*) FROM loomwork_worker WHERE id = ? AND handlers = '{}'::jsonb", none));
  }

  @Test
  void storeEnqueueWritesTheTypesVersion() throws Exception {
    PostgresStore store = PostgresStore.of(ds);
    TaskType<Integer> v1 = DurableQueueTest.JOB;
    long one = store.enqueue("eq", Task.of(v1, 1));
    long three = store.enqueue("eq", Task.of(v1.withVersion(3), 1));
    assertEquals(1, Sql.count(ds, "SELECT version FROM loomwork_task WHERE id = ?", one));
    assertEquals(3, Sql.count(ds, "SELECT version FROM loomwork_task WHERE id = ?", three));
  }

  @Test
  void badVersionsAreRefusedWithTheirName() {
    assertEquals(1, DurableQueueTest.JOB.version(), "the default");
    assertEquals(2, DurableQueueTest.JOB.withVersion(2).version());
    assertEquals(2, DurableQueueTest.JOB.withVersion(2).withAttemptTimeout(Duration.ofSeconds(1)).version(),
        "kept by the other with-ers");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DurableQueueTest.JOB.withVersion(0));
    assertEquals("version: 0 (expected: >= 1)", e.getMessage());
    IllegalArgumentException claim =
        assertThrows(IllegalArgumentException.class, () -> tasks.claim("q", Map.of("h", 0), 1L, 1));
    assertTrue(claim.getMessage().startsWith("handlers: version 0 of 'h'"), claim.getMessage());
    assertThrows(IllegalArgumentException.class, () -> NewTask.of("q", "h", "{}").version(-1));
  }
}
