package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static dev.loomwork.TestTimeouts.PROCESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.ChildJvm;
import dev.loomwork.Task;
import dev.loomwork.TaskState;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Worker processes sharing one durable queue: killed with SIGKILL mid-attempt, frozen past their
 * lease with SIGSTOP, and two of them working off 10,000 tasks. Each worker is a child JVM running
 * {@link DurableWorkerMain}, in this JVM's runner mode.
 */
@ExtendWith(PostgresExtension.class)
class DurableProcessTest {
  static final long LEASE_MILLIS = 1_000;
  static final long RESCUE_MILLIS = 200;
  static final long WORK_OFF_LEASE_MILLIS = 5_000;

  final DataSource ds;
  final String url;
  final PostgresStore store;
  final List<Worker> workers = new ArrayList<>();

  DurableProcessTest(DataSource ds) {
    this.ds = ds;
    this.url = ((UrlDataSource) ds).url();
    this.store = PostgresStore.of(ds);
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
  }

  @AfterEach
  void killWorkers() {
    for (Worker w : workers) {
      w.process.destroyForcibly();
    }
  }

  @Test
  void aTaskWhoseWorkerIsKilledRunsExactlyOnceMoreElsewhere() throws Exception {
    long id = store.enqueue("killed", Task.of(DurableQueueTest.JOB, 1).retries(5));
    Worker a = start("killed", 4, "block");
    a.await(line -> line.equals("start " + id + " 1"));
    Worker b = start("killed", 4, "noop");
    long killedAt = System.nanoTime();
    a.signal("KILL");
    b.await(line -> line.equals("ok " + id));
    long restartMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
    b.drain();
    assertEquals(List.of("start " + id + " 1"), a.starts());
    assertEquals(List.of("start " + id + " 2"), b.starts(), "exactly one more attempt");
    PostgresTask t = store.find(id).orElseThrow();
    assertEquals(TaskState.SUCCEEDED, t.state());
    assertEquals(2, t.attempts());
    String error = t.lastErrorJson();
    assertTrue(error != null && error.contains("WorkerLost"), "the worker-lost error is kept: " + error);
    System.out.printf("killed worker's task started again %d ms after SIGKILL (lease %d ms, rescue %d ms)%n",
        restartMillis, LEASE_MILLIS, RESCUE_MILLIS);
  }

  @Test
  void twoProcessesRunTenThousandTasksEachExactlyOnce() throws Exception {
    int n = 10_000;
    enqueue("shared", n);
    Worker a = start("shared", 32, "noop", WORK_OFF_LEASE_MILLIS);
    Worker b = start("shared", 32, "noop", WORK_OFF_LEASE_MILLIS);
    Sql.awaitTrue(ds, PROCESS, "SELECT count(*) = ? FROM loomwork_task WHERE state = 'succeeded'", (long) n);
    a.drain();
    b.drain();
    Map<String, Integer> starts = countStarts(a, b);
    assertEquals(n, starts.size(), "every task started");
    starts.forEach((task, count) -> assertEquals(1, count, "task " + task + " started " + count + " times"));
    assertEquals(n, a.oks().size() + b.oks().size(), "one success published per task");
    assertTrue(!a.oks().isEmpty() && !b.oks().isEmpty(), "both processes took tasks");
    assertEquals(n, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state = 'succeeded' AND attempt = 1"));
  }

  @Test
  void whenOneOfTwoProcessesIsKilledOnlyItsRunningTasksStartTwice() throws Exception {
    int n = 10_000;
    int concurrency = 32;
    enqueue("halfway", n);
    Worker a = start("halfway", concurrency, "noop", WORK_OFF_LEASE_MILLIS);
    Worker b = start("halfway", concurrency, "noop", WORK_OFF_LEASE_MILLIS);
    Sql.awaitTrue(ds, PROCESS, "SELECT count(*) >= ? FROM loomwork_task WHERE state = 'succeeded'", (long) n / 2);
    a.signal("KILL");
    a.process.waitFor();
    Sql.awaitTrue(ds, PROCESS, "SELECT count(*) = ? FROM loomwork_task WHERE state = 'succeeded'", (long) n);
    b.drain();
    Map<String, Integer> inA = countStarts(a);
    Map<String, Integer> inB = countStarts(b);
    // The rescued tasks: running for the killed worker when it died, in the store's eyes (their
    // bodies were running, or had ended with an outcome not yet written).
    java.util.Set<String> rescued = new java.util.HashSet<>();
    for (long id : Sql.longs(ds, "SELECT id FROM loomwork_task WHERE last_error ->> 'type' LIKE '%WorkerLost'")) {
      rescued.add(Long.toString(id));
    }
    java.util.Set<String> twice = new java.util.HashSet<>();
    for (Map.Entry<String, Integer> e : countStarts(a, b).entrySet()) {
      int count = e.getValue();
      assertTrue(count == 1 || count == 2, "task " + e.getKey() + " started " + count + " times");
      if (count == 2) {
        twice.add(e.getKey());
        assertEquals(1, inA.getOrDefault(e.getKey(), 0), "a task started twice was first the killed one's");
        assertEquals(1, inB.getOrDefault(e.getKey(), 0), "and then the other's");
      }
    }
    assertTrue(rescued.containsAll(twice), "only rescued tasks start twice: " + twice + " vs " + rescued);
    for (String id : rescued) {
      assertEquals(1, inB.getOrDefault(id, 0), "a rescued task " + id + " started once in the survivor");
    }
    assertEquals(n, countStarts(a, b).size());
    assertEquals(n - rescued.size(), Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE attempt = 1"));
    // A worker counts outcomes not yet written against its permits: it never holds more running
    // rows than its concurrency, so a crash runs at most that many tasks again.
    assertTrue(rescued.size() <= concurrency,
        rescued.size() + " tasks rescued: more than the killed worker's " + concurrency + " permits");
    System.out.printf("killed halfway: %d task(s) rescued, %d of them started twice%n", rescued.size(), twice.size());
  }

  @Test
  void aFrozenWorkerFindsItsLeaseLostAndItsLateOutcomeChangesNothing() throws Exception {
    long id = store.enqueue("frozen", Task.of(DurableQueueTest.JOB, 1).retries(5));
    Worker a = start("frozen", 4, "block");
    a.await(line -> line.equals("start " + id + " 1"));
    a.signal("STOP");
    Worker b = start("frozen", 4, "noop");
    b.await(line -> line.equals("ok " + id));
    Sql.awaitTrue(ds, "SELECT state = 'succeeded' FROM loomwork_task WHERE id = ?", id);
    a.signal("CONT");
    a.send("release"); // if the body is still running when the worker wakes, it returns now
    a.await(line -> line.contains("lost its lease"));
    a.await(line -> line.contains("registering again"));
    Sql.awaitTrue(ds, "SELECT count(*) = 2 FROM loomwork_worker WHERE queue = 'frozen'"); // a registered again
    a.drain();
    b.drain();
    assertTrue(a.oks().isEmpty(), "the frozen worker publishes no success: " + a.lines());
    assertEquals(List.of("start " + id + " 2"), b.starts());
    PostgresTask t = store.find(id).orElseThrow();
    assertEquals(TaskState.SUCCEEDED, t.state());
    assertEquals(2, t.attempts(), "the late outcome changed nothing");
  }

  // ---- helpers ----

  void enqueue(String queue, int n) throws Exception {
    try (Connection c = ds.getConnection()) {
      for (int i = 0; i < n; i++) {
        store.enqueue(c, queue, Task.of(DurableQueueTest.JOB, i));
      }
    }
  }

  static Map<String, Integer> countStarts(Worker... ws) {
    Map<String, Integer> starts = new HashMap<>();
    for (Worker w : ws) {
      for (String line : w.starts()) {
        starts.merge(line.split(" ")[1], 1, Integer::sum);
      }
    }
    return starts;
  }

  Worker start(String queue, int concurrency, String behaviour) throws IOException, InterruptedException {
    return start(queue, concurrency, behaviour, LEASE_MILLIS);
  }

  /**
   * A worker with a lease of its own. The work-off tests count every start, so they give their
   * workers a lease that a loaded machine does not lose by a late heartbeat: a worker that loses its
   * lease while alive cuts its attempts, and its tasks start again, which those tests would take
   * for a defect. The rescue tests keep the short lease they measure.
   */
  Worker start(String queue, int concurrency, String behaviour, long leaseMillis)
      throws IOException, InterruptedException {
    Worker w = launch(url, queue, concurrency, leaseMillis, behaviour);
    workers.add(w);
    w.await(line -> line.equals("ready"));
    return w;
  }

  /**
   * Starts a {@link DurableWorkerMain} child JVM on this test's class path and runner (with
   * {@code --enable-preview} when this JVM runs the structured runner); the caller registers it for
   * cleanup and waits for its {@code ready} line.
   */
  static Worker launch(String url, String queue, int concurrency, long leaseMillis, String behaviour)
      throws IOException {
    return new Worker(ChildJvm.start(List.of("-Xmx256m"), DurableWorkerMain.class, url, queue,
        Integer.toString(concurrency), Long.toString(leaseMillis), Long.toString(RESCUE_MILLIS), behaviour));
  }

  /** A worker process, its output as lines, and waits for a line. */
  static final class Worker {
    final Process process;
    private final Writer in;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition grew = lock.newCondition();
    private final List<String> lines = new ArrayList<>();
    private boolean ended;

    Worker(Process process) {
      this.process = process;
      this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      Thread.ofVirtual().start(this::read);
    }

    private void read() {
      try (BufferedReader r =
          new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          add(line);
        }
      } catch (IOException e) {
        add("(output failed: " + e + ")");
      } finally {
        lock.lock();
        try {
          ended = true;
          grew.signalAll();
        } finally {
          lock.unlock();
        }
      }
    }

    private void add(String line) {
      lock.lock();
      try {
        lines.add(line);
        grew.signalAll();
      } finally {
        lock.unlock();
      }
    }

    /** Waits until a line matches; fails if the process's output ends first or after {@code PROCESS}. */
    void await(Predicate<String> match) throws InterruptedException {
      long nanos = PROCESS.toNanos();
      lock.lock();
      try {
        int seen = 0;
        while (true) {
          for (; seen < lines.size(); seen++) {
            if (match.test(lines.get(seen))) {
              return;
            }
          }
          if (ended) {
            throw new AssertionError("the worker's output ended without the line:\n" + String.join("\n", lines));
          }
          if (nanos <= 0) {
            throw new AssertionError("no such line within " + PROCESS + ":\n" + String.join("\n", lines));
          }
          nanos = grew.awaitNanos(nanos);
        }
      } finally {
        lock.unlock();
      }
    }

    List<String> lines() {
      lock.lock();
      try {
        return List.copyOf(lines);
      } finally {
        lock.unlock();
      }
    }

    List<String> starts() {
      return lines().stream().filter(l -> l.startsWith("start ")).toList();
    }

    List<String> oks() {
      return lines().stream().filter(l -> l.startsWith("ok ")).toList();
    }

    void send(String line) throws IOException {
      in.write(line + "\n");
      in.flush();
    }

    void signal(String name) throws IOException, InterruptedException {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
      assertEquals(0, kill.waitFor(), "kill -" + name);
    }

    /** Drains the worker and waits for it to exit 0. */
    void drain() throws IOException, InterruptedException {
      send("drain");
      await(line -> line.startsWith("drained"));
      assertTrue(process.waitFor(GENEROUS.toSeconds(), TimeUnit.SECONDS), "the worker exits");
      assertEquals(0, process.exitValue(), String.join("\n", lines()));
    }
  }
}
