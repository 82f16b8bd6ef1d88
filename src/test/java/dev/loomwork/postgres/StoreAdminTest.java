package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.RetryPolicy;
import dev.loomwork.Task;
import dev.loomwork.TaskState;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import dev.loomwork.admin.AttemptOutcome;
import dev.loomwork.admin.AttemptRecord;
import dev.loomwork.admin.PageRequest;
import dev.loomwork.admin.QueueKind;
import dev.loomwork.admin.QueueOverview;
import dev.loomwork.admin.StoreAdmin;
import dev.loomwork.admin.TaskCount;
import dev.loomwork.admin.TaskDetail;
import dev.loomwork.admin.TaskFilter;
import dev.loomwork.admin.TaskPage;
import dev.loomwork.admin.TaskSummary;
import dev.loomwork.admin.WorkerInfo;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The durable store's admin: lists, filters, pages, counts, a task's attempts, and the actions. */
@ExtendWith(PostgresExtension.class)
class StoreAdminTest {
  static final Map<String, Integer> JOB_V1 = Map.of("job", 1);
  static final TaskType<Integer> OTHER = TaskType.of("other", DurableQueueTest.NUMBER);

  final DataSource ds;
  final PostgresStore store;
  final StoreAdmin admin;

  StoreAdminTest(DataSource ds) {
    this.ds = ds;
    this.store =
        PostgresStore.builder(ds)
            .lease(Duration.ofSeconds(5))
            .pollInterval(Duration.ofMillis(200))
            .build();
    this.admin = store.admin();
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker, loomwork_paused_queue");
  }

  /**
   * Tasks with ties on their creation time (one transaction's inserts share its now()), in two
   * queues, two handlers and every state.
   */
  void seed() throws Exception {
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      for (int i = 0; i < 7; i++) {
        store.enqueue(c, "a", Task.of(DurableQueueTest.JOB, i));
      }
      c.commit();
      for (int i = 0; i < 3; i++) {
        store.enqueue(c, "a", Task.of(OTHER, i));
        store.enqueue(c, "b", Task.of(DurableQueueTest.JOB, i));
      }
      store.enqueue(c, "b", Task.of(DurableQueueTest.JOB, 9).delay(Duration.ofHours(1)));
      c.commit();
    }
    // Two of queue a fail (one with a timeout), one is cancelled, one succeeded, one runs.
    List<Long> a = Sql.longs(ds, "SELECT id FROM loomwork_task WHERE queue = 'a' ORDER BY id");
    failed(a.get(0), "java.net.SocketTimeoutException", "Read timed out");
    failed(a.get(1), "java.lang.IllegalStateException", "bad payload 100%_sure");
    Sql.exec(ds, "UPDATE loomwork_task SET state = 'cancelled', finished_at = now() WHERE id = ?", a.get(2));
    Sql.exec(ds, "UPDATE loomwork_task SET state = 'succeeded', attempt = 1, finished_at = now() WHERE id = ?", a.get(3));
    Sql.exec(ds, "UPDATE loomwork_task SET state = 'running', attempt = 1, owner = 42, attempted_at = now() WHERE id = ?", a.get(8));
  }

  void failed(long id, String type, String message) throws Exception {
    Sql.exec(
        ds,
        "UPDATE loomwork_task SET state = 'failed', attempt = 1, finished_at = now(),"
            + " last_error = jsonb_build_object('type', ?::text, 'message', ?::text) WHERE id = ?",
        type,
        message,
        id);
  }

  /** Every page of a list, checking that each page but the last is full. */
  List<String> pages(TaskFilter filter, PageRequest first) throws Exception {
    List<String> ids = new ArrayList<>();
    PageRequest request = first;
    while (true) {
      TaskPage page = admin.list(filter, request);
      assertTrue(page.tasks().size() <= first.size(), "a page holds at most its size");
      for (TaskSummary t : page.tasks()) {
        ids.add(t.id());
      }
      if (!page.hasNext()) {
        return ids;
      }
      assertEquals(first.size(), page.tasks().size(), "a page before the last is full");
      request = first.after(page.next());
    }
  }

  List<String> expected(String where, String order) throws Exception {
    return Sql.longs(ds, "SELECT id FROM loomwork_task t WHERE " + where + " ORDER BY created_at " + order + ", id " + order)
        .stream()
        .map(String::valueOf)
        .toList();
  }

  @Test
  void pagesInBothDirectionsThroughTiesOnTheCreationTime() throws Exception {
    seed();
    assertEquals(
        7L,
        Sql.count(ds, "SELECT count(*) FROM loomwork_task GROUP BY created_at ORDER BY count(*) DESC LIMIT 1"),
        "seven tasks share a creation time");
    for (int size : List.of(1, 2, 3, 7, 100)) {
      assertEquals(expected("true", "ASC"), pages(TaskFilter.all(), PageRequest.oldestFirst(size)), "size " + size);
      assertEquals(expected("true", "DESC"), pages(TaskFilter.all(), PageRequest.newestFirst(size)), "size " + size);
      assertEquals(
          expected("queue = 'a'", "DESC"), pages(TaskFilter.all().withQueue("a"), PageRequest.newestFirst(size)));
    }
    assertEquals(List.of(), pages(TaskFilter.all().withQueue("none"), PageRequest.newestFirst(5)));
  }

  @Test
  void filtersByStateHandlerTimeAndErrorText() throws Exception {
    seed();
    PageRequest page = PageRequest.oldestFirst(50);
    assertEquals(expected("state = 'failed'", "ASC"), pages(TaskFilter.all().withStates(TaskState.FAILED), page));
    assertEquals(
        expected("state IN ('failed', 'cancelled')", "ASC"),
        pages(TaskFilter.all().withStates(TaskState.FAILED, TaskState.CANCELLED), page));
    assertEquals(
        expected("state = 'ready' AND run_at > now()", "ASC"), pages(TaskFilter.all().withStates(TaskState.WAITING), page));
    assertEquals(1, pages(TaskFilter.all().withStates(TaskState.WAITING), page).size());
    assertEquals(
        expected("state = 'ready' AND run_at <= now()", "ASC"), pages(TaskFilter.all().withStates(TaskState.READY), page));
    assertEquals(expected("handler = 'other'", "ASC"), pages(TaskFilter.all().withHandler("other"), page));
    assertEquals(3, pages(TaskFilter.all().withHandler("other"), page).size());
    assertEquals(
        expected("queue = 'a' AND handler = 'job' AND state = 'running'", "ASC"),
        pages(TaskFilter.all().withQueue("a").withHandler("job").withStates(TaskState.RUNNING), page));

    List<String> timedOut = pages(TaskFilter.all().withErrorContains("TIMED out"), page);
    assertEquals(expected("last_error ->> 'message' = 'Read timed out'", "ASC"), timedOut);
    assertEquals(1, timedOut.size());
    assertEquals(1, pages(TaskFilter.all().withErrorContains("sockettimeout"), page).size(), "the type matches too");
    assertEquals(1, pages(TaskFilter.all().withErrorContains("100%_"), page).size(), "wildcards are literal");
    assertEquals(0, pages(TaskFilter.all().withErrorContains("1000%"), page).size());

    Instant first = ((java.sql.Timestamp) Sql.value(ds, "SELECT min(created_at) FROM loomwork_task")).toInstant();
    assertEquals(
        expected("created_at = (SELECT min(created_at) FROM loomwork_task)", "ASC"),
        pages(TaskFilter.all().withCreated(first, first.plusNanos(1_000)), page));
    assertEquals(
        expected("created_at > (SELECT min(created_at) FROM loomwork_task)", "ASC"),
        pages(TaskFilter.all().withCreated(first.plusNanos(1_000), null), page));

    TaskSummary failed = admin.list(TaskFilter.all().withErrorContains("timed out"), page).tasks().getFirst();
    assertEquals("a", failed.queue());
    assertEquals("job", failed.handler());
    assertEquals(TaskState.FAILED, failed.state());
    assertEquals("java.net.SocketTimeoutException", failed.errorType());
    assertEquals("Read timed out", failed.errorMessage());
    assertNotNull(failed.createdAt());
    assertNotNull(failed.endedAt());
  }

  @Test
  void countsByQueueHandlerAndState() throws Exception {
    seed();
    Map<String, Long> cells = new TreeMap<>();
    for (TaskCount c : admin.counts(TaskFilter.all())) {
      cells.put(c.queue() + "/" + c.handler() + "/" + c.state(), c.count());
    }
    assertEquals(
        Map.of(
            "a/job/FAILED", 2L,
            "a/job/CANCELLED", 1L,
            "a/job/SUCCEEDED", 1L,
            "a/job/READY", 3L,
            "a/other/READY", 2L,
            "a/other/RUNNING", 1L,
            "b/job/READY", 3L,
            "b/job/WAITING", 1L),
        cells);
    assertEquals(
        List.of(new TaskCount("b", "job", TaskState.WAITING, 1)),
        admin.counts(TaskFilter.all().withQueue("b").withStates(TaskState.WAITING)));

    Map<String, QueueOverview> queues = new TreeMap<>();
    for (QueueOverview q : admin.queues()) {
      queues.put(q.queue(), q);
    }
    admin.pause("c"); // a queue with no task yet is listed once paused
    assertEquals(Set.of("a", "b"), queues.keySet());
    assertEquals(new QueueOverview("a", QueueKind.DURABLE, false, 5, 0, 1, 1, 2, 1, null), queues.get("a"));
    assertEquals(new QueueOverview("b", QueueKind.DURABLE, false, 3, 1, 0, 0, 0, 0, null), queues.get("b"));
    List<QueueOverview> after = admin.queues();
    assertEquals(List.of("a", "b", "c"), after.stream().map(QueueOverview::queue).toList());
    assertTrue(after.get(2).paused());
  }

  @Test
  void aFailedTaskShowsEachAttemptAndRunsAgainWhenRetried() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch third = new CountDownLatch(1);
    TaskType<Integer> flaky =
        TaskType.of("flaky", DurableQueueTest.NUMBER).withRetryPolicy(RetryPolicy.defaults().withRetries(1)
            .withBackoff(dev.loomwork.Backoff.fixed(Duration.ofMillis(10))));
    WorkQueue q =
        WorkQueue.builder("flaky")
            .store(store)
            .handle(
                flaky,
                (ctx, p) -> {
                  if (runs.incrementAndGet() < 3) {
                    throw new IllegalStateException("attempt " + ctx.attempt() + " <failed>");
                  }
                  third.countDown();
                })
            .build();
    q.start();
    try {
      long id = store.enqueue("flaky", Task.of(flaky, 1));
      Sql.awaitTrue(ds, "SELECT state = 'failed' FROM loomwork_task WHERE id = ?", id);
      TaskDetail failed = admin.task(id).orElseThrow();
      assertEquals(TaskState.FAILED, failed.summary().state());
      assertEquals(2, failed.summary().attempt());
      assertEquals("1", failed.payloadJson());
      assertEquals(
          List.of(AttemptOutcome.RETRIED, AttemptOutcome.FAILED),
          failed.attempts().stream().map(AttemptRecord::outcome).toList());
      long worker = (Long) Sql.value(ds, "SELECT id FROM loomwork_worker WHERE queue = 'flaky'");
      for (int i = 0; i < 2; i++) {
        AttemptRecord a = failed.attempts().get(i);
        assertEquals(i + 1, a.attempt());
        assertEquals(worker, a.worker());
        assertEquals("java.lang.IllegalStateException", a.errorType());
        assertEquals("attempt " + (i + 1) + " <failed>", a.errorMessage());
        assertTrue(a.stackTrace().startsWith("java.lang.IllegalStateException: attempt"), a.stackTrace());
        assertTrue(a.stackTrace().contains("\tat "), a.stackTrace());
        assertFalse(a.endedAt().isBefore(a.startedAt()));
      }
      assertEquals("attempt 2 <failed>", failed.summary().errorMessage());

      assertTrue(admin.retry(id), "a failed task is retried");
      assertFalse(admin.retry(id), "a task already ready is not retried again");
      assertTrue(third.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the retried task runs");
      Sql.awaitTrue(ds, "SELECT state = 'succeeded' FROM loomwork_task WHERE id = ?", id);
      TaskDetail succeeded = admin.task("flaky", Long.toString(id)).orElseThrow();
      assertEquals(3, succeeded.summary().attempt());
      assertEquals(3, succeeded.summary().maxAttempts(), "one more attempt was allowed");
      assertEquals(
          List.of(AttemptOutcome.RETRIED, AttemptOutcome.FAILED, AttemptOutcome.SUCCEEDED),
          succeeded.attempts().stream().map(AttemptRecord::outcome).toList());
      assertNull(succeeded.attempts().get(2).errorType());
      assertEquals(List.of(), admin.list(TaskFilter.all().withStates(TaskState.FAILED), PageRequest.newestFirst(5)).tasks());
      assertTrue(admin.task("other", Long.toString(id)).isEmpty(), "a task of another queue is not found");
    } finally {
      q.close();
    }
  }

  @Test
  void retriesEveryMatchingTaskInBatches() throws Exception {
    int n = StoreAdmin.RETRY_BATCH + 7;
    Sql.exec(
        ds,
        "INSERT INTO loomwork_task (queue, handler, payload, state, attempt, finished_at, last_error)"
            + " SELECT 'bulk', 'job', '1', CASE WHEN i % 2 = 0 THEN 'failed' ELSE 'cancelled' END, 1, now(),"
            + " jsonb_build_object('type', 'T', 'message', 'm' || i) FROM generate_series(1, ?) i",
        2 * n);
    Sql.exec(
        ds,
        "INSERT INTO loomwork_task (queue, handler, payload, state, attempt, finished_at)"
            + " SELECT 'bulk', 'job', '1', 'succeeded', 1, now() FROM generate_series(1, 10)");
    assertEquals(n, admin.retryAll(TaskFilter.all().withQueue("bulk").withStates(TaskState.FAILED)));
    assertEquals(n, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state = 'ready' AND max_attempts = 2"));
    assertEquals(0, admin.retryAll(TaskFilter.all().withStates(TaskState.SUCCEEDED)), "only failed or cancelled");
    assertEquals(0, admin.retryAll(TaskFilter.all().withQueue("other")));
    assertEquals(n, admin.retryAll(TaskFilter.all()));
    assertEquals(2L * n, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state = 'ready'"));
  }

  @Test
  void retryLeavesATaskWhoseUniqueKeyIsLiveAgain() throws Exception {
    long first = store.enqueue("keys", Task.of(DurableQueueTest.JOB, 1), "k");
    Sql.exec(ds, "UPDATE loomwork_task SET state = 'failed', finished_at = now() WHERE id = ?", first);
    long second = store.enqueue("keys", Task.of(DurableQueueTest.JOB, 2), "k");
    assertFalse(admin.retry(first), "the key is live in another task");
    assertEquals(0, admin.retryAll(TaskFilter.all().withQueue("keys")));
    assertTrue(admin.cancel(second));
    assertFalse(admin.cancel(second), "already ended");
    assertTrue(admin.retry(first), "the key is free again");
    assertFalse(admin.retry(second), "now the first holds it");
  }

  @Test
  void deletesTasksThatDoNotRun() throws Exception {
    long ready = store.enqueue("del", Task.of(DurableQueueTest.JOB, 1));
    long running = store.enqueue("del", Task.of(DurableQueueTest.JOB, 2));
    Sql.exec(ds, "UPDATE loomwork_task SET state = 'running', attempt = 1, owner = 1, attempted_at = now() WHERE id = ?", running);
    assertTrue(admin.delete(ready));
    assertFalse(admin.delete(ready), "gone");
    assertFalse(admin.delete(running), "a running task is not deleted");
    assertTrue(admin.task(ready).isEmpty());
    TaskDetail r = admin.task(running).orElseThrow();
    assertEquals(List.of(AttemptOutcome.RUNNING), r.attempts().stream().map(AttemptRecord::outcome).toList());
    assertEquals(1L, r.worker());
  }

  @Test
  void aPausedQueueClaimsNothingUntilResumed() throws Exception {
    PostgresClaims claims = new PostgresClaims(ds);
    PostgresLeases leases = new PostgresLeases(ds);
    long worker = leases.register("p", JOB_V1, Duration.ofSeconds(30));
    long id = store.enqueue("p", Task.of(DurableQueueTest.JOB, 1));
    assertTrue(admin.pause("p"));
    assertFalse(admin.pause("p"), "already paused");
    assertEquals(List.of("p"), admin.pausedQueues());
    PostgresTypes.Claim paused = claims.claim("p", JOB_V1, worker, 10);
    assertTrue(paused.leaseLive());
    assertEquals(List.of(), paused.tasks(), "a paused queue's claim takes nothing");
    assertTrue(claims.nextDue("p", JOB_V1).isEmpty(), "and its timer waits for the poll");
    long other = store.enqueue("other", Task.of(DurableQueueTest.JOB, 2));
    long otherWorker = leases.register("other", JOB_V1, Duration.ofSeconds(30));
    assertEquals(
        List.of(other),
        claims.claim("other", JOB_V1, otherWorker, 10).tasks().stream().map(t -> t.id()).toList(),
        "other queues are not paused");
    assertTrue(admin.resume("p"));
    assertFalse(admin.resume("p"), "not paused any more");
    assertEquals(List.of(), admin.pausedQueues());
    assertEquals(List.of(id), claims.claim("p", JOB_V1, worker, 10).tasks().stream().map(t -> t.id()).toList());
  }

  @Test
  void releasedAndLostAttemptsJoinTheHistory() throws Exception {
    PostgresClaims claims = new PostgresClaims(ds);
    PostgresLeases leases = new PostgresLeases(ds);
    long id = store.enqueue("h", Task.of(DurableQueueTest.JOB, 1).retries(3));
    long first = leases.register("h", JOB_V1, Duration.ofSeconds(30));
    assertEquals(1, claims.claim("h", JOB_V1, first, 1).tasks().size());
    claims.release(first, List.of(id));
    long second = leases.register("h", JOB_V1, Duration.ofSeconds(30));
    assertEquals(1, claims.claim("h", JOB_V1, second, 1).tasks().size());
    Sql.exec(ds, "UPDATE loomwork_worker SET expires_at = now() - interval '1 second' WHERE id = ?", second);
    assertTrue(leases.rescue().isPresent());
    List<AttemptRecord> attempts = admin.task(id).orElseThrow().attempts();
    assertEquals(
        List.of(AttemptOutcome.RELEASED, AttemptOutcome.LOST),
        attempts.stream().map(AttemptRecord::outcome).toList());
    assertEquals(List.of(1, 1), attempts.stream().map(AttemptRecord::attempt).toList(), "a released attempt is given back");
    assertEquals(first, attempts.get(0).worker());
    assertNull(attempts.get(0).errorType());
    assertEquals(second, attempts.get(1).worker());
    assertEquals(PostgresLeases.WORKER_LOST, attempts.get(1).errorType());
    assertEquals("worker " + second + " lost its lease during attempt 1", attempts.get(1).errorMessage());
  }

  @Test
  void theHistoryKeepsTheLast32AttemptsAndBoundsEachError() throws Exception {
    long id = store.enqueue("bound", Task.of(DurableQueueTest.JOB, 1).retries(50));
    PostgresClaims claims = new PostgresClaims(ds);
    long worker = new PostgresLeases(ds).register("bound", JOB_V1, Duration.ofSeconds(30));
    RuntimeException huge = new RuntimeException("m".repeat(5_000));
    for (int attempt = 1; attempt <= PostgresAttempts.KEPT + 3; attempt++) {
      assertEquals(1, claims.claim("bound", JOB_V1, worker, 1).tasks().size());
      claims.complete(
          worker,
          List.of(new dev.loomwork.internal.DurableBackend.Outcome(
              id, attempt, dev.loomwork.internal.DurableBackend.Ending.RETRY, Duration.ZERO, huge)));
    }
    List<AttemptRecord> attempts = admin.task(id).orElseThrow().attempts();
    assertEquals(PostgresAttempts.KEPT, attempts.size());
    assertEquals(4, attempts.getFirst().attempt(), "the oldest three were dropped");
    assertEquals(PostgresAttempts.KEPT + 3, attempts.getLast().attempt());
    for (AttemptRecord a : attempts) {
      assertEquals(AttemptOutcome.RETRIED, a.outcome());
      assertEquals(AttemptRecord.MAX_MESSAGE, a.errorMessage().length());
      assertTrue(a.errorMessage().endsWith("\u2026"));
      assertTrue(a.stackTrace().length() <= AttemptRecord.MAX_STACK);
    }
  }

  @Test
  void listsTheLiveWorkers() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    WorkQueue q =
        WorkQueue.builder("w")
            .store(store)
            .concurrency(3)
            .handle(
                DurableQueueTest.JOB,
                (ctx, p) -> {
                  started.countDown();
                  release.await();
                })
            .build();
    q.start();
    try {
      store.enqueue("w", Task.of(DurableQueueTest.JOB, 1));
      assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
      Sql.exec(ds, "INSERT INTO loomwork_worker (queue, expires_at) VALUES ('dead', now() - interval '1 second')");
      List<WorkerInfo> workers = admin.workers();
      assertEquals(1, workers.size(), "the expired worker is not live: " + workers);
      WorkerInfo w = workers.getFirst();
      assertEquals("w", w.queue());
      assertEquals(ProcessHandle.current().pid(), w.pid());
      assertEquals(ProcessFacts.host(), w.host());
      assertEquals(3, w.concurrency());
      assertEquals(List.of("job"), w.handlers());
      assertEquals(1, w.claimed());
      assertTrue(w.expiresAt().isAfter(w.heartbeatAt()));
      assertFalse(w.heartbeatAt().isBefore(w.startedAt()));
    } finally {
      release.countDown();
      q.close();
    }
  }

  @Test
  void theDocsExample() throws Exception {
    long id = store.enqueue("email", Task.of(DurableQueueTest.JOB, 1));
    failed(id, "java.net.SocketTimeoutException", "Read timed out");
    List<String> lines = new ArrayList<>();
    // README:admin-store
    StoreAdmin admin = store.admin();
    // The newest failed tasks of "email" whose last error says it timed out, 50 a page.
    TaskFilter timeouts =
        TaskFilter.all().withQueue("email").withStates(TaskState.FAILED).withErrorContains("timed out");
    TaskPage page = admin.list(timeouts, PageRequest.newestFirst(50));
    for (TaskSummary t : page.tasks()) {
      TaskDetail task = admin.task(t.queue(), t.id()).orElseThrow();
      lines.add(t.id() + " " + t.errorType() + ": " + t.errorMessage() + ", " + task.attempts().size() + " attempt(s)");
    }
    // page.next() is the cursor of the next page: PageRequest.newestFirst(50).after(page.next())

    long retried = admin.retryAll(timeouts); // the mail server is back: run them again

    admin.pause("email"); // an incident: no process claims from "email"; running attempts end
    admin.resume("email");
    // README:end
    assertEquals(List.of(id + " java.net.SocketTimeoutException: Read timed out, 0 attempt(s)"), lines);
    assertEquals(1, retried);
    assertEquals(List.of(), admin.pausedQueues());
  }

  @Test
  void refusesBadInput() throws Exception {
    assertEquals(
        "size: 0 (expected: 1 to 1000)",
        assertThrows(IllegalArgumentException.class, () -> PageRequest.newestFirst(0)).getMessage());
    assertEquals(
        "size: 1001 (expected: 1 to 1000)",
        assertThrows(IllegalArgumentException.class, () -> PageRequest.oldestFirst(1001)).getMessage());
    for (String cursor : List.of("x", "s1.1", "s1.a.b", "m1.YQ.MQ", "s1.1.2.3")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> admin.list(TaskFilter.all(), PageRequest.newestFirst(5).after(cursor)));
      assertEquals("after: '" + cursor + "' (expected: a cursor from a StoreAdmin's TaskPage.next())", e.getMessage());
    }
    assertEquals(
        "id: 'x1' (expected: a decimal task id)",
        assertThrows(IllegalArgumentException.class, () -> admin.task("q", "x1")).getMessage());
    assertEquals(
        "queue: ' ' (expected: not blank)",
        assertThrows(IllegalArgumentException.class, () -> admin.pause(" ")).getMessage());
    assertEquals(
        "queue: '' (expected: null or not blank)",
        assertThrows(IllegalArgumentException.class, () -> TaskFilter.all().withQueue("")).getMessage());
    assertEquals(
        "states: NEW (expected: a state of an enqueued task)",
        assertThrows(IllegalArgumentException.class, () -> TaskFilter.all().withStates(TaskState.NEW)).getMessage());
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    assertEquals(
        "createdFrom: 2026-01-01T00:00:00Z (expected: before createdBefore 2026-01-01T00:00:00Z)",
        assertThrows(IllegalArgumentException.class, () -> TaskFilter.all().withCreated(t, t)).getMessage());
    assertEquals(
        "errorContains: 201 characters (expected: at most 200)",
        assertThrows(IllegalArgumentException.class, () -> TaskFilter.all().withErrorContains("x".repeat(201)))
            .getMessage());
    assertTrue(admin.task(12345).isEmpty());
    assertFalse(admin.retry(12345));
    assertFalse(admin.delete(12345));
    assertFalse(admin.cancel(12345));
  }
}
