package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.NonRetryableException;
import dev.loomwork.Backoff;
import dev.loomwork.QueueStats;
import dev.loomwork.RetryPolicy;
import dev.loomwork.ShutdownReport;
import dev.loomwork.Task;
import dev.loomwork.TaskHandler;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import dev.loomwork.WorkQueueListener;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The contract of a queue, held against both stores: the same typed tasks, handled the same way,
 * give each task the same listener events (its attempts in order, its retries, its end, last) and
 * the queue the same counts, whether it runs from memory or from PostgreSQL. The first test runs a
 * mix of behaviours on both and compares them; the parameterised ones run
 * each engine scenario (cancel, deadline, attempt timeout, backoff, each shutdown, health, the order
 * of events and {@code onTerminated} last) once per {@link Store}, with the same expectations except
 * where {@code docs/durable.md} says a durable queue differs, which each of them names. Surefire runs
 * the class twice, so every scenario runs on both stores in both runner modes.
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

  // ---- the contract: each scenario on both stores -------------------------------------------

  /** Where a contract scenario's queue keeps its tasks. */
  enum Store {
    MEMORY,
    DURABLE
  }

  /** Payloads of the contract's handler, beyond the five behaviours above. */
  static final int BLOCK = 10; // waits for the release; an interrupt ends the attempt
  static final int BLOCK_FIRST = 11; // attempt 1 waits for the release; later attempts succeed
  static final int IGNORE_INTERRUPTS = 12; // waits for the release, swallowing interrupts

  /** A type whose attempts may run 300 ms, retried at once. */
  static final TaskType<Integer> TIMED =
      TaskType.of("timed", DurableQueueTest.NUMBER)
          .withAttemptTimeout(Duration.ofMillis(300))
          .withRetryPolicy(RetryPolicy.defaults().withBackoff(Backoff.none()));

  /** The backoff of {@link #SPACED}. */
  static final Duration SPACING = Duration.ofMillis(300);

  /** A type whose retries wait {@link #SPACING}, without jitter. */
  static final TaskType<Integer> SPACED =
      TaskType.of("spaced", DurableQueueTest.NUMBER)
          .withRetryPolicy(RetryPolicy.defaults().withBackoff(Backoff.fixed(SPACING)));

  /** Opened to release every blocked body; opened after each test if the test did not. */
  final CountDownLatch release = new CountDownLatch(1);
  /** Counted down by each blocking body as it starts. */
  final java.util.concurrent.Semaphore blocked = new java.util.concurrent.Semaphore(0);
  final List<WorkQueue> queues = new CopyOnWriteArrayList<>();
  final List<CountDownLatch> gates = new CopyOnWriteArrayList<>(List.of(release));
  final Map<String, Long> ids = new ConcurrentHashMap<>();
  @Nullable PostgresStore store;

  /** The contract's handler: the five behaviours above, and the blocking ones. */
  final TaskHandler<Integer> contract =
      (ctx, p) -> {
        switch (p) {
          case BLOCK -> {
            blocked.release();
            release.await();
          }
          case BLOCK_FIRST -> {
            if (ctx.attempt() == 1) {
              blocked.release();
              release.await();
            }
          }
          case IGNORE_INTERRUPTS -> {
            blocked.release();
            boolean interrupted = false;
            while (true) {
              try {
                release.await();
                break;
              } catch (InterruptedException e) {
                interrupted = true;
              }
            }
            if (interrupted) {
              Thread.currentThread().interrupt();
            }
          }
          default -> HANDLER.handle(ctx, p);
        }
      };

  @BeforeEach
  void emptyTheStore() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
  }

  @AfterEach
  void shutDownEveryQueue() {
    gates.forEach(g -> {
      while (g.getCount() > 0) {
        g.countDown();
      }
    });
    for (WorkQueue q : queues) {
      q.shutdownNow();
      q.shutdown(); // returns once terminated
    }
  }

  PostgresStore store() {
    if (store == null) {
      store =
          PostgresStore.builder(ds)
              .lease(Duration.ofMillis(900)) // a heartbeat every 300 ms: a cancel in the store cuts soon
              .rescueInterval(Duration.ofMillis(100))
              .pollInterval(Duration.ofMillis(50))
              .build();
    }
    return store;
  }

  /** A queue of the contract's three types on {@code on}, recording into {@code rec}; not started. */
  WorkQueue queue(Store on, String name, Recorder rec, int concurrency) {
    return queue(on, name, rec, concurrency, WorkQueue.Builder.DEFAULT_ABANDON_AFTER);
  }

  /** The same, giving up on a cut attempt after {@code abandonAfter}. */
  WorkQueue queue(Store on, String name, Recorder rec, int concurrency, Duration abandonAfter) {
    WorkQueue.Builder b =
        WorkQueue.builder(name)
            .concurrency(concurrency)
            .abandonAfter(abandonAfter)
            .handle(DurableQueueTest.JOB, contract)
            .handle(TIMED, contract)
            .handle(SPACED, contract)
            .listener(rec);
    if (on == Store.DURABLE) {
      b.store(store());
    }
    WorkQueue q = b.build();
    queues.add(q);
    return q;
  }

  /**
   * Enqueues a typed task: on the queue in memory, through the store when durable (a durable queue's
   * own enqueue refuses, docs/durable.md).
   */
  void enqueue(Store on, WorkQueue q, Task<?> t) throws Exception {
    if (on == Store.DURABLE) {
      ids.put(t.name(), store().enqueue(q.name(), t));
    } else {
      q.enqueue(t);
    }
  }

  /** Spins (yielding) until {@code q} is shut down, failing after the generous timeout. */
  static void awaitShutDown(WorkQueue q) {
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(GENEROUS_SECONDS);
    while (!q.isShutdown()) {
      assertTrue(System.nanoTime() - giveUp < 0, "the queue did not shut down");
      Thread.yield();
    }
  }

  /** Waits until {@code n} blocking bodies have started. */
  void awaitBlocked(int n) throws InterruptedException {
    assertTrue(blocked.tryAcquire(n, GENEROUS_SECONDS, TimeUnit.SECONDS), "the blocking bodies started");
  }

  /**
   * Every event a queue delivers, in the order the listener received them, by task and in one list;
   * {@code onTerminated} included, and whether anything came after it.
   */
  static class Recorder implements WorkQueueListener {
    final List<String> all = new CopyOnWriteArrayList<>();
    final Map<String, List<String>> byTask = new ConcurrentHashMap<>();
    final Map<String, CompletableFuture<Task<?>>> handles = new ConcurrentHashMap<>();
    final Map<String, CompletableFuture<String>> ends = new ConcurrentHashMap<>();
    final Map<String, Long> at = new ConcurrentHashMap<>();
    final CompletableFuture<QueueStats> terminated = new CompletableFuture<>();

    void add(Task<?> t, String e) {
      at.put(t.name() + " " + e, System.nanoTime());
      byTask.computeIfAbsent(t.name(), k -> new CopyOnWriteArrayList<>()).add(e);
      all.add(t.name() + " " + e);
    }

    void end(Task<?> t, String e) {
      add(t, e);
      ends.computeIfAbsent(t.name(), k -> new CompletableFuture<>()).complete(e);
    }

    @Override
    public void onEnqueued(Task<?> task) {
      add(task, "enqueued");
      handles.computeIfAbsent(task.name(), k -> new CompletableFuture<>()).complete(task);
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
      end(task, "succeeded");
    }

    @Override
    public void onFailed(Task<?> task, Throwable error) {
      end(task, "failed " + error.getClass().getSimpleName());
    }

    @Override
    public void onCancelled(Task<?> task) {
      end(task, "cancelled");
    }

    @Override
    public void onAbandoned(Task<?> task) {
      add(task, "abandoned");
    }

    @Override
    public void onTerminated(String queue, QueueStats stats) {
      all.add("terminated");
      terminated.complete(stats);
    }

    /** The handle this process got for the task: its onEnqueued's. */
    Task<?> handle(String name) throws Exception {
      return handles.computeIfAbsent(name, k -> new CompletableFuture<>()).get(GENEROUS_SECONDS, TimeUnit.SECONDS);
    }

    /** The task's terminal event, once it arrived. */
    String end(String name) throws Exception {
      return ends.computeIfAbsent(name, k -> new CompletableFuture<>()).get(GENEROUS_SECONDS, TimeUnit.SECONDS);
    }

    List<String> of(String name) {
      return byTask.getOrDefault(name, List.of());
    }

    /** The final counts, once onTerminated arrived; checks that it was the last event. */
    QueueStats awaitTerminated() throws Exception {
      QueueStats s = terminated.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
      assertEquals("terminated", all.getLast(), "onTerminated is the last event: " + all);
      assertEquals(1, all.stream().filter("terminated"::equals).count(), "onTerminated once: " + all);
      assertEquals(s.submitted(), s.outstanding() + s.completed() + s.handedBack(), "the counts add up: " + s);
      return s;
    }
  }

  /**
   * A task's expected events, written as a durable queue delivers them: on a durable queue each claim
   * is announced (docs/durable.md), so a retried task has an {@code enqueued} per attempt; a queue in
   * memory announces the task once.
   */
  static List<String> claims(Store on, List<String> durable) {
    if (on == Store.DURABLE) {
      return durable;
    }
    List<String> memory = new ArrayList<>(durable);
    for (int i = memory.size() - 1; i > 0; i--) {
      if (memory.get(i).equals("enqueued")) {
        memory.remove(i);
      }
    }
    return memory;
  }

  /** Runs {@code body} on a new daemon thread of its own (never a shared pool, which may be busy). */
  static <T> CompletableFuture<T> async(String name, java.util.concurrent.Callable<T> body) {
    CompletableFuture<T> f = new CompletableFuture<>();
    Thread.ofPlatform().name("test-" + name).daemon(true).start(() -> {
      try {
        f.complete(body.call());
      } catch (Throwable e) {
        f.completeExceptionally(e);
      }
    });
    return f;
  }

  /** {@link #async(String, java.util.concurrent.Callable)} for a body with no result. */
  static CompletableFuture<Void> run(String name, Runnable body) {
    return async(name, () -> {
      body.run();
      return null;
    });
  }

  @ParameterizedTest
  @EnumSource(Store.class)
  void aTaskCancelledBeforeItStartsNeverRuns(Store on) throws Exception {
    Recorder rec = new Recorder();
    WorkQueue q = queue(on, "cancel-early", rec, 2);
    enqueue(on, q, Task.of(DurableQueueTest.JOB, SUCCEED).named("later").delay(Duration.ofHours(1)));
    q.start();
    if (on == Store.DURABLE) {
      // A durable task waits in the store until it is due; it is cancelled there (docs/durable.md).
      assertTrue(store().cancel(ids.get("later")));
      assertEquals(dev.loomwork.TaskState.CANCELLED, store().find(ids.get("later")).orElseThrow().state());
    } else {
      assertTrue(rec.handle("later").cancel());
      assertEquals("cancelled", rec.end("later"));
    }
    enqueue(on, q, Task.of(DurableQueueTest.JOB, SUCCEED).named("now"));
    assertEquals("succeeded", rec.end("now"));
    q.shutdown();
    QueueStats s = rec.awaitTerminated();
    assertTrue(rec.of("later").stream().noneMatch(e -> e.startsWith("started")), "it never ran: " + rec.all);
    // This process never claimed the durable one, so its stats do not count it.
    assertEquals(on == Store.MEMORY ? 1 : 0, s.cancelled(), s.toString());
    assertEquals(1, s.succeeded());
  }

  @ParameterizedTest
  @EnumSource(Store.class)
  void aCancelWhileRunningCutsTheAttemptAndTheTaskEndsCancelled(Store on) throws Exception {
    Recorder rec = new Recorder();
    WorkQueue q = queue(on, "cancel-running", rec, 2);
    enqueue(on, q, Task.of(DurableQueueTest.JOB, BLOCK).named("busy").retries(3));
    q.start();
    awaitBlocked(1);
    assertTrue(rec.handle("busy").cancel(), "a cancel of a running task is accepted");
    assertEquals("cancelled", rec.end("busy"));
    q.shutdown();
    QueueStats s = rec.awaitTerminated();
    assertEquals(List.of("enqueued", "started 1", "finished 1 CANCELLED", "cancelled"), rec.of("busy"));
    assertEquals(1, s.cancelled());
    if (on == Store.DURABLE) {
      assertEquals(dev.loomwork.TaskState.CANCELLED, store().find(ids.get("busy")).orElseThrow().state());
    }
  }

  @ParameterizedTest
  @EnumSource(Store.class)
  void anAttemptRunningAtTheDeadlineIsCutAndTheTaskFails(Store on) throws Exception {
    Recorder rec = new Recorder();
    WorkQueue q = queue(on, "deadline", rec, 2);
    q.start();
    // Long enough for a loaded machine to claim and start it: no attempt starts after the deadline.
    enqueue(on, q, Task.of(DurableQueueTest.JOB, BLOCK).named("late").retries(3).within(Duration.ofSeconds(3)));
    awaitBlocked(1);
    assertEquals("failed DeadlineExceededException", rec.end("late"));
    q.shutdown();
    QueueStats s = rec.awaitTerminated();
    assertEquals(
        List.of("enqueued", "started 1", "finished 1 CANCELLED", "failed DeadlineExceededException"),
        rec.of("late"));
    assertEquals(1, s.failed());
  }

  @ParameterizedTest
  @EnumSource(Store.class)
  void anAttemptPastItsTimeoutIsCutAndTheTaskRetried(Store on) throws Exception {
    Recorder rec = new Recorder();
    WorkQueue q = queue(on, "timeout", rec, 2);
    enqueue(on, q, Task.of(TIMED, BLOCK_FIRST).named("slow").retries(1));
    q.start();
    assertEquals("succeeded", rec.end("slow"));
    q.shutdown();
    QueueStats s = rec.awaitTerminated();
    assertEquals(
        claims(on, List.of("enqueued", "started 1", "finished 1 TIMED_OUT", "retry", "enqueued", "started 2",
            "finished 2 SUCCEEDED", "succeeded")),
        rec.of("slow"));
    assertEquals(1, s.succeeded());
    assertEquals(on == Store.DURABLE ? 1 : 0, s.handedBack(), "a durable retry goes back to the store");
  }

  @ParameterizedTest
  @EnumSource(Store.class)
  void aRetryStartsNoSoonerThanItsBackoff(Store on) throws Exception {
    Recorder rec = new Recorder();
    WorkQueue q = queue(on, "backoff", rec, 2);
    enqueue(on, q, Task.of(SPACED, FAIL_ONCE).named("flaky").retries(2));
    q.start();
    assertEquals("succeeded", rec.end("flaky"));
    q.shutdown();
    rec.awaitTerminated();
    assertEquals(
        claims(on, List.of("enqueued", "started 1", "finished 1 FAILED", "retry", "enqueued", "started 2",
            "finished 2 SUCCEEDED", "succeeded")),
        rec.of("flaky"));
    long gap = rec.at.get("flaky started 2") - rec.at.get("flaky finished 1 FAILED");
    assertTrue(gap >= SPACING.toNanos() * 9 / 10, "the second attempt waited the backoff: " + gap / 1_000_000 + " ms");
  }

  @ParameterizedTest
  @EnumSource(Store.class)
  void aDrainingShutdownFinishesWhatRunsAndTerminates(Store on) throws Exception {
    Recorder rec = new Recorder();
    WorkQueue q = queue(on, "drain", rec, 2);
    enqueue(on, q, Task.of(DurableQueueTest.JOB, BLOCK).named("a"));
    enqueue(on, q, Task.of(DurableQueueTest.JOB, BLOCK).named("b"));
    q.start();
    awaitBlocked(2);
    assertEquals(2, q.health().running());
    assertEquals(dev.loomwork.QueueLifecycle.ACCEPTING, q.health().lifecycle());
    CompletableFuture<Void> drained = run("shutdown", q::shutdown);
    awaitShutDown(q);
    assertEquals(dev.loomwork.QueueLifecycle.DRAINING, q.health().lifecycle());
    assertTrue(!drained.isDone(), "the drain waits for the running attempts");
    release.countDown();
    drained.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
    QueueStats s = rec.awaitTerminated();
    assertEquals(2, s.succeeded());
    assertEquals(0, s.handedBack());
    assertEquals(dev.loomwork.QueueLifecycle.TERMINATED, q.health().lifecycle());
    assertEquals(0, q.health().outstanding());
    for (String t : List.of("a", "b")) {
      assertEquals(List.of("enqueued", "started 1", "finished 1 SUCCEEDED", "succeeded"), rec.of(t));
    }
  }

  @ParameterizedTest
  @EnumSource(Store.class)
  void aCuttingShutdownCutsWhatRuns(Store on) throws Exception {
    Recorder rec = new Recorder();
    WorkQueue q = queue(on, "cut", rec, 2);
    enqueue(on, q, Task.of(DurableQueueTest.JOB, BLOCK).named("cut"));
    q.start();
    awaitBlocked(1);
    ShutdownReport report = q.shutdownNow();
    q.shutdown();
    QueueStats s = rec.awaitTerminated();
    if (on == Store.DURABLE) {
      // Released to the store with its attempt given back, not reported, no end here (docs/durable.md).
      assertEquals(List.of(), report.cancelled());
      assertEquals(List.of("enqueued", "started 1", "finished 1 CANCELLED"), rec.of("cut"));
      assertEquals(1, s.handedBack());
      assertEquals(0, s.cancelled());
      PostgresTask row = store().find(ids.get("cut")).orElseThrow();
      assertEquals(dev.loomwork.TaskState.READY, row.state());
      assertEquals(0, row.attempts(), "the cut attempt is given back");
    } else {
      assertEquals(List.of("cut"), report.cancelled().stream().map(dev.loomwork.TaskSnapshot::name).toList());
      assertEquals(List.of("enqueued", "started 1", "finished 1 CANCELLED", "cancelled"), rec.of("cut"));
      assertEquals(1, s.cancelled());
    }
  }

  /**
   * onTerminated is the last event even when a shutdown still delivers one on its own thread (an
   * onAbandoned, held in a slow listener) after the owner terminated: the owner runs in {@code run()}
   * on a thread of the test's, which returns before the listener is let go.
   */
  @ParameterizedTest
  @EnumSource(Store.class)
  void onTerminatedComesAfterASlowListenerOfAnotherThread(Store on) throws Exception {
    CountDownLatch inListener = new CountDownLatch(1);
    CountDownLatch letGo = new CountDownLatch(1);
    gates.add(letGo);
    Recorder rec =
        new Recorder() {
          @Override
          public void onAbandoned(Task<?> task) {
            super.onAbandoned(task);
            inListener.countDown();
            try {
              letGo.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        };
    WorkQueue q = queue(on, "slow-listener", rec, 2, Duration.ZERO);
    enqueue(on, q, Task.of(DurableQueueTest.JOB, IGNORE_INTERRUPTS).named("stubborn"));
    CompletableFuture<Void> owner = run("owner", q::run);
    awaitBlocked(1);
    CompletableFuture<ShutdownReport> stop = async("shutdown", q::shutdownNow);
    assertTrue(inListener.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the shutdown abandoned the task");
    release.countDown(); // the attempt ends; the owner terminates while the listener still holds
    owner.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
    assertTrue(q.isTerminated());
    assertTrue(!rec.terminated.isDone(), "no onTerminated while an event is still being delivered: " + rec.all);
    letGo.countDown();
    assertEquals(1, stop.get(GENEROUS_SECONDS, TimeUnit.SECONDS).abandoned().size());
    rec.awaitTerminated();
    assertTrue(rec.all.indexOf("stubborn abandoned") < rec.all.indexOf("terminated"), rec.all.toString());
  }

  /**
   * The same with a cancel: a task cancelled while it waits is published by the canceller's thread,
   * whose listener is slow, while the drained queue terminates. Memory only: a durable queue's
   * pending tasks are the ones it claimed for its free permits, which start at once.
   */
  @ParameterizedTest
  @EnumSource(value = Store.class, names = "MEMORY")
  void onTerminatedComesAfterASlowCancelListener(Store on) throws Exception {
    CountDownLatch inListener = new CountDownLatch(1);
    CountDownLatch letGo = new CountDownLatch(1);
    gates.add(letGo);
    Recorder rec =
        new Recorder() {
          @Override
          public void onCancelled(Task<?> task) {
            super.onCancelled(task);
            inListener.countDown();
            try {
              letGo.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        };
    WorkQueue q = queue(on, "slow-cancel", rec, 1);
    enqueue(on, q, Task.of(DurableQueueTest.JOB, BLOCK).named("first"));
    enqueue(on, q, Task.of(DurableQueueTest.JOB, SUCCEED).named("second"));
    CompletableFuture<Void> owner = run("owner", q::run);
    awaitBlocked(1);
    Task<?> second = rec.handle("second");
    CompletableFuture<Boolean> cancel = async("cancel", second::cancel);
    assertTrue(inListener.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the canceller publishes");
    CompletableFuture<Void> drained = run("shutdown", q::shutdown);
    release.countDown();
    owner.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
    drained.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
    assertTrue(!rec.terminated.isDone(), "no onTerminated while an event is still being delivered: " + rec.all);
    letGo.countDown();
    assertTrue(cancel.get(GENEROUS_SECONDS, TimeUnit.SECONDS));
    rec.awaitTerminated();
    assertTrue(rec.all.indexOf("second cancelled") < rec.all.indexOf("terminated"), rec.all.toString());
  }
}
