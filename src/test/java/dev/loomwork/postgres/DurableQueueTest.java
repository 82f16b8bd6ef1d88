package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.Backoff;
import dev.loomwork.RetryPolicy;
import dev.loomwork.ShutdownReport;
import dev.loomwork.Task;
import dev.loomwork.TaskCodec;
import dev.loomwork.TaskState;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import dev.loomwork.WorkQueueListener;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A queue built with a PostgreSQL store: claims, outcomes, retries, cancels, shutdowns, leases. */
@ExtendWith(PostgresExtension.class)
class DurableQueueTest {
  /** A payload that is a JSON number. */
  static final TaskCodec<Integer> NUMBER =
      new TaskCodec<>() {
        @Override
        public String encode(Integer payload) {
          return Integer.toString(payload);
        }

        @Override
        public Integer decode(String json) {
          return Integer.parseInt(json.trim());
        }
      };

  static final TaskType<Integer> JOB =
      TaskType.of("job", NUMBER)
          .withRetryPolicy(RetryPolicy.defaults().withBackoff(Backoff.fixed(Duration.ofMillis(20))));

  final DataSource ds;
  final PostgresStore store;

  DurableQueueTest(DataSource ds) {
    this.ds = ds;
    this.store =
        PostgresStore.builder(ds)
            .lease(Duration.ofMillis(900))
            .rescueInterval(Duration.ofMillis(100))
            .pollInterval(Duration.ofMillis(200))
            .build();
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
  }

  WorkQueue.Builder queue(String name, dev.loomwork.TaskHandler<Integer> handler) {
    return WorkQueue.builder(name).store(store).handle(JOB, handler).concurrency(8);
  }

  /** Counts terminal events. */
  static final class Ends implements WorkQueueListener {
    final CountDownLatch ended;
    final List<String> events = new CopyOnWriteArrayList<>();

    Ends(int n) {
      ended = new CountDownLatch(n);
    }

    @Override
    public void onSucceeded(Task<?> task) {
      events.add("succeeded " + task.id());
      ended.countDown();
    }

    @Override
    public void onFailed(Task<?> task, Throwable error) {
      events.add("failed " + task.id());
      ended.countDown();
    }

    @Override
    public void onCancelled(Task<?> task) {
      events.add("cancelled " + task.id());
      ended.countDown();
    }

    @Override
    public void onRetryScheduled(Task<?> task, Throwable error, java.time.Instant at) {
      events.add("retry " + task.id());
    }

    void await() throws InterruptedException {
      assertTrue(ended.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "tasks did not end: " + events);
    }
  }

  @Test
  void runsEachEnqueuedTaskOnceAndWritesItsOutcome() throws Exception {
    int n = 50;
    Map<Integer, AtomicInteger> runs = new ConcurrentHashMap<>();
    Set<String> ids = ConcurrentHashMap.newKeySet();
    Ends ends = new Ends(n);
    WorkQueue q =
        queue("runs", (ctx, p) -> {
              runs.computeIfAbsent(p, k -> new AtomicInteger()).incrementAndGet();
              ids.add(ctx.taskId());
            })
            .listener(ends)
            .build();
    List<Long> enqueued = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      enqueued.add(store.enqueue("runs", Task.of(JOB, i)));
    }
    q.start();
    ends.await();
    q.shutdown();
    assertEquals(n, runs.size());
    runs.values().forEach(r -> assertEquals(1, r.get()));
    for (long id : enqueued) {
      assertTrue(ids.contains(Long.toString(id)), "TaskContext.taskId() is the store's id");
      PostgresTask t = store.find(id).orElseThrow();
      assertEquals(TaskState.SUCCEEDED, t.state());
      assertEquals(1, t.attempts());
    }
    assertEquals(0, Sql.count(ds, "SELECT count(*) FROM loomwork_worker"), "the worker's row is deleted");
    assertEquals(n, q.stats().succeeded());
  }

  @Test
  void aRetryGoesBackToTheStoreAndRunsAgain() throws Exception {
    Ends ends = new Ends(1);
    List<Integer> attempts = new CopyOnWriteArrayList<>();
    WorkQueue q =
        queue("retry", (ctx, p) -> {
              attempts.add(ctx.attempt());
              if (ctx.attempt() == 1) {
                throw new IllegalStateException("first attempt fails");
              }
            })
            .listener(ends)
            .build();
    long id = store.enqueue("retry", Task.of(JOB, 1));
    q.start();
    ends.await();
    q.shutdown();
    assertEquals(List.of(1, 2), attempts);
    PostgresTask t = store.find(id).orElseThrow();
    assertEquals(TaskState.SUCCEEDED, t.state());
    assertEquals(2, t.attempts());
    assertEquals(List.of("retry " + id, "succeeded " + id), ends.events);
  }

  @Test
  void aTaskOutOfAttemptsFailsWithItsErrorRecorded() throws Exception {
    Ends ends = new Ends(1);
    WorkQueue q =
        queue("fails", (ctx, p) -> {
              throw new IllegalStateException("always fails, attempt " + ctx.attempt());
            })
            .listener(ends)
            .build();
    long id = store.enqueue("fails", Task.of(JOB, 1).retries(1));
    q.start();
    ends.await();
    q.shutdown();
    PostgresTask t = store.find(id).orElseThrow();
    assertEquals(TaskState.FAILED, t.state());
    assertEquals(2, t.attempts());
    assertEquals(2, t.maxAttempts());
    String error = t.lastErrorJson();
    assertTrue(error != null && error.contains("always fails, attempt 2"), error);
    assertTrue(error.contains("java.lang.IllegalStateException"), error);
  }

  @Test
  void theStoreMetersCountClaimsCompletionsByOutcomeAndTasksByState() throws Exception {
    io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    Ends ends = new Ends(10);
    WorkQueue q =
        queue("metered", (ctx, p) -> {
              if (p == 0 && ctx.attempt() == 1) {
                throw new IllegalStateException("once");
              }
            })
            .listener(ends)
            .meterRegistry(registry)
            .build();
    for (int i = 0; i < 10; i++) {
      store.enqueue("metered", Task.of(JOB, i));
    }
    q.start();
    ends.await();
    q.shutdown();
    java.util.function.BiFunction<String, String, Double> completions =
        (outcome, unused) ->
            registry.get("loomwork.store.completions").tag("queue", "metered").tag("outcome", outcome).counter().count();
    assertEquals(10.0, completions.apply("succeeded", null));
    assertEquals(1.0, completions.apply("retry", null));
    assertEquals(0.0, completions.apply("fenced", null));
    assertEquals(11.0, registry.get("loomwork.store.claimed").tag("queue", "metered").counter().count());
    assertTrue(registry.get("loomwork.store.claims").counter().count() >= 1);
    assertTrue(registry.get("loomwork.store.flush.duration").timer().count() >= 1);
    assertEquals(6, registry.find("loomwork.store.tasks").tag("queue", "metered").gauges().size(),
        "one gauge per state");
  }

  @Test
  void closuresAndHandlesAreRefusedWithAMessageThatSaysWhatToDo() throws Exception {
    WorkQueue q = queue("refuses", (ctx, p) -> {}).build();
    UnsupportedOperationException onQueue =
        assertThrows(UnsupportedOperationException.class, () -> q.submit(ctx -> {}));
    assertTrue(onQueue.getMessage().contains("store.enqueue(\"refuses\""), onQueue.getMessage());
    assertThrows(UnsupportedOperationException.class, () -> q.submit(JOB, 1));
    IllegalArgumentException closure =
        assertThrows(IllegalArgumentException.class, () -> store.enqueue("refuses", Task.of(ctx -> {})));
    assertTrue(closure.getMessage().contains("Task.of(type, payload)"), closure.getMessage());
    IllegalArgumentException after =
        assertThrows(
            IllegalArgumentException.class,
            () -> store.enqueue("refuses", Task.of(JOB, 1).after(t -> {})));
    assertTrue(after.getMessage().contains("after-callback"), after.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> WorkQueue.builder("nohandler").store(store).build(),
        "a durable queue without a handler could never run anything");
    assertEquals(0, Sql.count(ds, "SELECT count(*) FROM loomwork_task"));
    q.shutdown();
  }

  @Test
  void aCuttingShutdownReleasesItsTasksAndAnotherQueueTakesThemAtOnce() throws Exception {
    CountDownLatch started = new CountDownLatch(2);
    WorkQueue first =
        queue("release", (ctx, p) -> {
              started.countDown();
              new CountDownLatch(1).await(); // until cut
            })
            .build();
    long a = store.enqueue("release", Task.of(JOB, 1));
    long b = store.enqueue("release", Task.of(JOB, 2));
    first.start();
    assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
    ShutdownReport report = first.shutdownNow();
    assertTrue(report.cancelled().isEmpty(), "released tasks are the store's, not the report's: " + report);
    for (long id : List.of(a, b)) {
      PostgresTask t = store.find(id).orElseThrow();
      assertEquals(TaskState.READY, t.state(), "released at once");
      assertEquals(0, t.attempts(), "the attempt is given back");
    }
    assertEquals(0, Sql.count(ds, "SELECT count(*) FROM loomwork_worker"));
    // A second queue, with a lease far longer than the test, takes them without any rescue.
    PostgresStore slow = PostgresStore.builder(ds).lease(Duration.ofHours(1)).rescueInterval(Duration.ofHours(1)).build();
    Ends ends = new Ends(2);
    WorkQueue second = WorkQueue.builder("release").store(slow).handle(JOB, (ctx, p) -> {}).listener(ends).build();
    second.start();
    ends.await();
    second.shutdown();
    for (long id : List.of(a, b)) {
      PostgresTask t = store.find(id).orElseThrow();
      assertEquals(TaskState.SUCCEEDED, t.state());
      assertEquals(1, t.attempts());
    }
  }

  @Test
  void aCancelThroughTheStoreCutsTheRunningAttempt() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch interrupted = new CountDownLatch(1);
    Ends ends = new Ends(1);
    WorkQueue q =
        queue("cancel", (ctx, p) -> {
              started.countDown();
              try {
                new CountDownLatch(1).await();
              } catch (InterruptedException e) {
                interrupted.countDown();
                throw e;
              }
            })
            .listener(ends)
            .build();
    long id = store.enqueue("cancel", Task.of(JOB, 1));
    q.start();
    assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
    assertTrue(store.cancel(id));
    assertTrue(interrupted.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the worker cuts it at a heartbeat");
    ends.await();
    q.shutdown();
    assertEquals(TaskState.CANCELLED, store.find(id).orElseThrow().state());
    assertFalse(store.cancel(id), "an ended task cannot be cancelled");
  }

  @Test
  void aWorkerThatLosesItsLeaseCutsItsAttemptsAndRegistersAgain() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch firstStarted = new CountDownLatch(1);
    CountDownLatch firstCut = new CountDownLatch(1);
    Ends ends = new Ends(1);
    WorkQueue q =
        queue("lease", (ctx, p) -> {
              if (runs.incrementAndGet() == 1) {
                firstStarted.countDown();
                try {
                  new CountDownLatch(1).await();
                } catch (InterruptedException e) {
                  firstCut.countDown();
                  throw e;
                }
              }
            })
            .listener(ends)
            .build();
    long id = store.enqueue("lease", Task.of(JOB, 1));
    q.start();
    assertTrue(firstStarted.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
    long worker = (Long) Sql.value(ds, "SELECT owner FROM loomwork_task WHERE id = ?", id);
    Sql.exec(ds, "DELETE FROM loomwork_worker WHERE id = ?", worker); // as a rescuer would
    assertTrue(firstCut.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the worker notices and cuts");
    ends.await(); // the rescuer returned the task, and the new worker ran it
    q.shutdown();
    PostgresTask t = store.find(id).orElseThrow();
    assertEquals(TaskState.SUCCEEDED, t.state());
    assertEquals(2, t.attempts());
    assertEquals(2, runs.get());
    assertEquals(List.of("succeeded " + id), ends.events, "the cut attempt publishes nothing");
  }

  @Test
  void aWakeUpWhileEveryPermitIsTakenIsNotLost() throws Exception {
    PostgresStore listening = PostgresStore.builder(ds).pollInterval(Duration.ofHours(1)).build();
    CountDownLatch firstStarted = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Ends ends = new Ends(2);
    WorkQueue q =
        WorkQueue.builder("busy").store(listening).concurrency(1)
            .handle(JOB, (ctx, p) -> {
              if (p == 1) {
                firstStarted.countDown();
                release.await();
              }
            })
            .listener(ends)
            .build();
    q.start();
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");
    PostgresStore.of(ds).enqueue("busy", Task.of(JOB, 1));
    assertTrue(firstStarted.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
    PostgresStore.of(ds).enqueue("busy", Task.of(JOB, 2)); // its NOTIFY comes while the permit is taken
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM loomwork_task WHERE state = 'ready'");
    release.countDown();
    ends.await(); // the second task runs when the permit frees, not at the next poll in an hour
    q.shutdown();
  }

  @Test
  void aTransactionalEnqueueWakesTheWorkerAtCommitAndARollbackLeavesNothing() throws Exception {
    PostgresStore listening =
        PostgresStore.builder(ds).pollInterval(Duration.ofHours(1)).build(); // only NOTIFY wakes it
    Ends ends = new Ends(1);
    List<Integer> ran = new CopyOnWriteArrayList<>();
    WorkQueue q =
        WorkQueue.builder("tx").store(listening).handle(JOB, (ctx, p) -> ran.add(p)).listener(ends).build();
    q.start();
    Sql.awaitTrue(ds, "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      // Stores of their own: each one's first enqueue of a queue sends its NOTIFY in the transaction.
      PostgresStore.of(ds).enqueue(c, "tx", Task.of(JOB, 1));
      c.rollback();
      PostgresStore.of(ds).enqueue(c, "tx", Task.of(JOB, 2));
      assertFalse(c.getAutoCommit(), "the connection is left as it was");
      c.commit();
    }
    ends.await();
    q.shutdown();
    assertEquals(List.of(2), ran);
    assertEquals(1, Sql.count(ds, "SELECT count(*) FROM loomwork_task"));
    assertNull(Sql.value(ds, "SELECT id FROM loomwork_task WHERE payload = '1'::jsonb"));
  }
}
