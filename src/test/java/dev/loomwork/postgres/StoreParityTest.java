package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.NonRetryableException;
import dev.loomwork.QueueStats;
import dev.loomwork.Task;
import dev.loomwork.TaskHandler;
import dev.loomwork.WorkQueue;
import dev.loomwork.WorkQueueListener;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The typed-task behaviours on both stores: the same tasks, handled the same way, give each task the
 * same listener events (its attempts in order, its retries, its end, last) and the queue the same
 * counts, whether it runs from memory or from PostgreSQL.
 */
@ExtendWith(PostgresExtension.class)
class StoreParityTest {
  /** Payload: what the handler does. */
  static final int SUCCEED = 0;
  static final int FAIL_ONCE = 1;
  static final int ALWAYS_FAIL = 2;
  static final int NOT_RETRYABLE = 3;
  static final int FAIL_TWICE = 4;

  static final TaskHandler<Integer> HANDLER =
      (ctx, p) -> {
        switch (p) {
          case FAIL_ONCE -> {
            if (ctx.attempt() == 1) {
              throw new IllegalStateException("once");
            }
          }
          case FAIL_TWICE -> {
            if (ctx.attempt() <= 2) {
              throw new IllegalStateException("twice");
            }
          }
          case ALWAYS_FAIL -> throw new IllegalStateException("always");
          case NOT_RETRYABLE -> throw new NonRetryableException("never again");
          default -> {}
        }
      };

  static final int COPIES = 5;
  static final int[] BEHAVIOURS = {SUCCEED, FAIL_ONCE, ALWAYS_FAIL, NOT_RETRYABLE, FAIL_TWICE};

  final DataSource ds;

  StoreParityTest(DataSource ds) {
    this.ds = ds;
  }

  /** Each task's events, by task name. */
  static final class Events implements WorkQueueListener {
    final Map<String, List<String>> byTask = new ConcurrentHashMap<>();
    final CountDownLatch ended = new CountDownLatch(COPIES * BEHAVIOURS.length);
    /** onEnqueued calls: on a durable queue, one per claim. */
    final java.util.concurrent.atomic.AtomicLong enqueued = new java.util.concurrent.atomic.AtomicLong();

    @Override
    public void onEnqueued(Task<?> task) {
      enqueued.incrementAndGet();
    }

    void add(Task<?> t, String e) {
      byTask.computeIfAbsent(t.name(), k -> new CopyOnWriteArrayList<>()).add(e);
    }

    @Override
    public void onAttemptStarted(Task<?> task, int attempt, Duration waited) {
      add(task, "started " + attempt);
    }

    @Override
    public void onAttemptFinished(
        Task<?> task, int attempt, AttemptOutcome outcome, Duration duration, @Nullable Throwable error) {
      add(task, "finished " + attempt + " " + outcome);
    }

    @Override
    public void onRetryScheduled(Task<?> task, Throwable error, Instant at) {
      add(task, "retry");
    }

    @Override
    public void onSucceeded(Task<?> task) {
      add(task, "succeeded");
      ended.countDown();
    }

    @Override
    public void onFailed(Task<?> task, Throwable error) {
      add(task, "failed " + error.getClass().getSimpleName() + ": " + error.getMessage());
      ended.countDown();
    }

    @Override
    public void onCancelled(Task<?> task) {
      add(task, "cancelled");
      ended.countDown();
    }

    /**
     * Each task's events in a form that both stores must share: the attempt events in order, then
     * the number of retries, then the end. (A retry's event and the next attempt's start come from
     * different threads, in either order on either store.)
     */
    Map<String, List<String>> comparable() {
      Map<String, List<String>> out = new TreeMap<>();
      byTask.forEach(
          (task, events) -> {
            List<String> c = new ArrayList<>();
            events.stream().filter(e -> e.startsWith("started") || e.startsWith("finished")).forEach(c::add);
            c.add("retries " + events.stream().filter(e -> e.equals("retry")).count());
            String last = events.getLast();
            assertTrue(!last.startsWith("started") && !last.startsWith("finished") && !last.equals("retry"),
                "the end is the last event of task " + task + ": " + events);
            c.add(last);
            out.put(task, c);
          });
      return out;
    }

    void await() throws InterruptedException {
      assertTrue(ended.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "not all ended: " + byTask);
    }
  }

  static List<Task<?>> tasks() {
    List<Task<?>> tasks = new ArrayList<>();
    for (int copy = 0; copy < COPIES; copy++) {
      for (int b : BEHAVIOURS) {
        tasks.add(Task.of(DurableQueueTest.JOB, b).named("b" + b + "-" + copy).retries(2));
      }
    }
    return tasks;
  }

  record Run(Map<String, List<String>> events, QueueStats stats, long enqueued) {
    long retries() {
      return events.values().stream().mapToLong(e -> Long.parseLong(e.get(e.size() - 2).substring(8))).sum();
    }
  }

  Run inMemory() throws Exception {
    Events events = new Events();
    WorkQueue q = WorkQueue.builder("parity").handle(DurableQueueTest.JOB, HANDLER).listener(events).build();
    q.start();
    for (Task<?> t : tasks()) {
      q.enqueue(t);
    }
    events.await();
    q.shutdown();
    return new Run(events.comparable(), q.stats(), events.enqueued.get());
  }

  Run inPostgres() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
    PostgresStore store = PostgresStore.builder(ds).pollInterval(Duration.ofMillis(50)).build();
    Events events = new Events();
    WorkQueue q =
        WorkQueue.builder("parity").store(store).handle(DurableQueueTest.JOB, HANDLER).listener(events).build();
    for (Task<?> t : tasks()) {
      store.enqueue("parity", t);
    }
    q.start();
    events.await();
    q.shutdown();
    return new Run(events.comparable(), q.stats(), events.enqueued.get());
  }

  @Test
  void bothStoresGiveTheSameEventsAndCounts() throws Exception {
    Run memory = inMemory();
    Run postgres = inPostgres();
    assertEquals(memory.events(), postgres.events());
    assertEquals(memory.stats().succeeded(), postgres.stats().succeeded());
    assertEquals(memory.stats().failed(), postgres.stats().failed());
    assertEquals(memory.stats().cancelled(), postgres.stats().cancelled());
    for (Run run : List.of(memory, postgres)) {
      QueueStats s = run.stats();
      assertEquals(s.submitted(), s.outstanding() + s.completed() + s.handedBack(),
          "submitted = outstanding + completed + handedBack on both stores: " + s);
      assertEquals(s.submitted(), run.enqueued(), "one onEnqueued per task accepted (claimed) here: " + s);
    }
    long tasks = (long) COPIES * BEHAVIOURS.length;
    assertEquals(tasks, memory.stats().submitted());
    assertEquals(0, memory.stats().handedBack(), "a queue in memory hands nothing back");
    assertEquals(memory.retries(), postgres.stats().handedBack(), "each durable retry goes back to the store");
    assertEquals(tasks + memory.retries(), postgres.stats().submitted(), "a durable queue counts each claim");
    assertEquals(3L * COPIES, memory.stats().succeeded(), "the scenarios ran as planned");
    assertEquals(2L * COPIES, memory.stats().failed());
    assertEquals(
        List.of("started 1", "finished 1 FAILED", "started 2", "finished 2 FAILED", "started 3",
            "finished 3 FAILED", "retries 2", "failed IllegalStateException: always"),
        memory.events().get("b2-0"));
  }
}
