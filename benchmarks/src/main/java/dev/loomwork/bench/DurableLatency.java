package dev.loomwork.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import dev.loomwork.postgres.PostgresStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Enqueue commit → attempt start, at light load: one task at a time. Each invocation's setup
 * (untimed) enqueues one task in a transaction of the application's and commits it; the timed part
 * is the wait, from the commit's return, until the task's body has started (a semaphore its body
 * releases). Score: the distribution of that wait (sample time; JMH reports its percentiles).
 *
 * <ul>
 *   <li>{@link #latency_toStart_loomwork}: a started durable queue (concurrency 8, LISTEN, the
 *       default 1 s poll) and {@code store.enqueue(connection, queue, task)} + {@code commit()}.
 *       {@code pauseMillis} is slept before each enqueue (untimed): {@code 0} is back to back, so
 *       every enqueue but one per 100 ms finds the queue's NOTIFY debounced and waits for the
 *       trailing one; {@code 120} spaces the enqueues past the debounce window, so each carries its
 *       own NOTIFY in its transaction.
 *   <li>{@link #latency_toStart_interleaved}: the same queue, two application transactions whose
 *       enqueues fall in one debounce window and whose commits are 100 ms apart; the wait of the
 *       second (see {@link Interleaved}).
 *   <li>{@link #latency_toStart_jdbcListenClaim}: the floor of the same path: a plain insert and
 *       {@code pg_notify} in the same transaction, and one thread that waits on a LISTEN connection
 *       and, at each notification, runs loomwork's claim statement and starts what it claimed.
 * </ul>
 *
 * The trial checks that every task started exactly once, and that the store holds each as
 * succeeded (loomwork) or claimed (the floor) at attempt 1.
 */
@State(Scope.Benchmark)
@Fork(
    value = 1,
    jvmArgs = {
      "--enable-preview",
      "--sun-misc-unsafe-memory-access=allow",
      "-Dbench.runner=structured",
      "-Xms1g",
      "-Xmx1g",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
    })
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 5, time = 6)
@Threads(1)
public class DurableLatency {

  static final String QUEUE = "latency";

  /** A start taking longer than this is a hang: fail the benchmark. */
  static final long HANG_SECONDS = 10;

  HikariDataSource app;
  Connection caller;

  /** Bodies that started, by payload, to catch one started twice. */
  final Set<Integer> started = ConcurrentHashMap.newKeySet();
  final AtomicInteger doubled = new AtomicInteger();
  final Semaphore starts = new Semaphore(0);
  final AtomicInteger enqueued = new AtomicInteger();

  @Setup(Level.Trial)
  public void open(DurableServer server) throws SQLException {
    server.reset();
    app = server.pool("app", 1);
    caller = app.getConnection();
    caller.setAutoCommit(false);
  }

  @TearDown(Level.Trial)
  public void close() throws SQLException {
    caller.close();
    app.close();
  }

  void bodyStarted(int payload) {
    if (!started.add(payload)) {
      doubled.incrementAndGet();
    }
    starts.release();
  }

  /** The timed part: until the body of the task the setup enqueued has started. */
  void awaitStart() throws InterruptedException {
    if (!starts.tryAcquire(HANG_SECONDS, TimeUnit.SECONDS)) {
      throw new IllegalStateException("task " + (enqueued.get() - 1) + " did not start in " + HANG_SECONDS + " s");
    }
  }

  void checkStarts() {
    if (doubled.get() > 0 || started.size() != enqueued.get()) {
      throw new IllegalStateException(
          enqueued.get() + " enqueued, " + started.size() + " started, " + doubled.get() + " started twice");
    }
  }

  // ------------------------------------------------------------------------------------------
  // loomwork
  // ------------------------------------------------------------------------------------------

  @State(Scope.Benchmark)
  public static class Durable {
    /** Sleep before each enqueue (untimed): 0 = back to back; 120 = past the 100 ms debounce window. */
    @Param({"0", "120"})
    public int pauseMillis;

    HikariDataSource storePool;
    PostgresStore store;
    WorkQueue queue;

    @Setup(Level.Trial)
    public void start(DurableServer server, DurableLatency b) {
      storePool = server.pool("store", 4);
      store = PostgresStore.of(storePool);
      queue =
          WorkQueue.builder(QUEUE)
              .store(store)
              .concurrency(8)
              .handle(DurableServer.NOOP, (ctx, i) -> b.bodyStarted(i))
              .build();
      queue.start();
    }

    @TearDown(Level.Trial)
    public void stop(DurableServer server, DurableLatency b) throws SQLException {
      Bench.shutdown(queue);
      storePool.close();
      b.checkStarts();
      long done = server.count("SELECT count(*) FROM loomwork_task WHERE state = 'succeeded' AND attempt = 1");
      long all = server.count("SELECT count(*) FROM loomwork_task");
      if (done != b.enqueued.get() || all != done) {
        throw new IllegalStateException(
            all + " rows, " + done + " succeeded at attempt 1; " + b.enqueued.get() + " enqueued");
      }
    }

    @Setup(Level.Invocation)
    public void enqueue(DurableLatency b) throws SQLException, InterruptedException {
      if (pauseMillis > 0) {
        Thread.sleep(pauseMillis);
      }
      store.enqueue(b.caller, QUEUE, Task.of(DurableServer.NOOP, b.enqueued.getAndIncrement()));
      b.caller.commit();
    }
  }

  @Benchmark
  public void latency_toStart_loomwork(Durable s) throws InterruptedException {
    awaitStart();
  }

  // ------------------------------------------------------------------------------------------
  // loomwork, two transactions interleaved with the NOTIFY debounce (issue 20, point 4)
  // ------------------------------------------------------------------------------------------

  /**
   * Transaction A enqueues and carries the queue's NOTIFY; transaction B enqueues right after it,
   * inside A's 2 ms debounce window, so B's wake-up is left to the trailing NOTIFY. A commits and
   * its task starts; B commits {@link #commitDelayMillis} later, after the window and after the
   * claimer's linger (50 ms) ended. The timed part is B's commit → B's start. Before the fix the
   * trailing NOTIFY went out at the end of the window, before B's commit, and B waited for the 1 s
   * poll; now the trailing NOTIFY waits for B's transaction to end.
   */
  @State(Scope.Benchmark)
  public static class Interleaved {
    /** How long after A's task started B commits (untimed). */
    @Param({"100"})
    public int commitDelayMillis;

    HikariDataSource storePool;
    HikariDataSource second;
    Connection b;
    PostgresStore store;
    WorkQueue queue;

    @Setup(Level.Trial)
    public void start(DurableServer server, DurableLatency bench) throws SQLException {
      storePool = server.pool("store", 4);
      second = server.pool("app-b", 1);
      b = second.getConnection();
      b.setAutoCommit(false);
      store = PostgresStore.of(storePool);
      queue =
          WorkQueue.builder(QUEUE)
              .store(store)
              .concurrency(8)
              .handle(DurableServer.NOOP, (ctx, i) -> bench.bodyStarted(i))
              .build();
      queue.start();
    }

    @TearDown(Level.Trial)
    public void stop(DurableServer server, DurableLatency bench) throws SQLException {
      Bench.shutdown(queue);
      b.close();
      second.close();
      storePool.close();
      bench.checkStarts();
      long done = server.count("SELECT count(*) FROM loomwork_task WHERE state = 'succeeded' AND attempt = 1");
      long all = server.count("SELECT count(*) FROM loomwork_task");
      if (done != bench.enqueued.get() || all != done) {
        throw new IllegalStateException(
            all + " rows, " + done + " succeeded at attempt 1; " + bench.enqueued.get() + " enqueued");
      }
    }

    @Setup(Level.Invocation)
    public void interleave(DurableLatency bench) throws SQLException, InterruptedException {
      Thread.sleep(3); // past the window of the last NOTIFY: A leads
      store.enqueue(bench.caller, QUEUE, Task.of(DurableServer.NOOP, bench.enqueued.getAndIncrement()));
      store.enqueue(b, QUEUE, Task.of(DurableServer.NOOP, bench.enqueued.getAndIncrement()));
      bench.caller.commit();
      bench.awaitStart(); // A's task
      Thread.sleep(commitDelayMillis);
      b.commit();
    }
  }

  @Benchmark
  public void latency_toStart_interleaved(Interleaved s) throws InterruptedException {
    awaitStart();
  }

  // ------------------------------------------------------------------------------------------
  // The floor: insert + NOTIFY in one transaction; LISTEN, then loomwork's claim statement.
  // ------------------------------------------------------------------------------------------

  @State(Scope.Benchmark)
  public static class Floor {
    static final String CHANNEL = "loomwork.latency-floor";

    Connection listener;
    Connection claimer;
    long worker;
    Thread thread;
    volatile boolean closed;
    volatile Throwable failure;

    @Setup(Level.Trial)
    public void start(DurableServer server, DurableLatency b) throws SQLException {
      listener = server.admin();
      claimer = server.admin();
      try (Statement s = listener.createStatement()) {
        s.execute("LISTEN \"" + CHANNEL + "\"");
      }
      try (PreparedStatement s =
          claimer.prepareStatement(
              "INSERT INTO loomwork_worker (queue, expires_at) VALUES (?, now() + interval '1 day') RETURNING id")) {
        s.setString(1, QUEUE);
        try (ResultSet r = s.executeQuery()) {
          r.next();
          worker = r.getLong(1);
        }
      }
      thread = Thread.ofPlatform().name("floor-listener").start(() -> listen(b));
    }

    private void listen(DurableLatency b) {
      try {
        PGConnection pg = listener.unwrap(PGConnection.class);
        while (!closed) {
          PGNotification[] got = pg.getNotifications(250);
          if (got == null || got.length == 0) {
            continue;
          }
          try (PreparedStatement s = claimer.prepareStatement(DurableSql.CLAIM)) {
            s.setLong(1, worker);
            s.setString(2, QUEUE);
            s.setArray(3, claimer.createArrayOf("text", new Object[] {"noop"}));
            s.setInt(4, 8);
            s.setLong(5, worker);
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                r.getLong(2);
                if (!r.wasNull()) {
                  b.bodyStarted(Integer.parseInt(r.getString(4)));
                }
              }
            }
          }
        }
      } catch (Throwable e) {
        failure = e;
      }
    }

    @TearDown(Level.Trial)
    public void stop(DurableServer server, DurableLatency b) throws SQLException, InterruptedException {
      closed = true;
      thread.join();
      listener.close();
      claimer.close();
      if (failure != null) {
        throw new IllegalStateException("the floor's listener failed", failure);
      }
      b.checkStarts();
      long claimed = server.count("SELECT count(*) FROM loomwork_task WHERE state = 'running' AND attempt = 1");
      long all = server.count("SELECT count(*) FROM loomwork_task");
      if (claimed != b.enqueued.get() || all != claimed) {
        throw new IllegalStateException(
            all + " rows, " + claimed + " claimed at attempt 1; " + b.enqueued.get() + " enqueued");
      }
    }

    @Setup(Level.Invocation)
    public void enqueue(DurableLatency b) throws SQLException {
      Connection c = b.caller;
      try (PreparedStatement s = c.prepareStatement(DurableSql.PLAIN_INSERT)) {
        s.setString(1, QUEUE);
        s.setString(2, "noop");
        s.setString(3, Integer.toString(b.enqueued.getAndIncrement()));
        s.setString(4, null);
        s.setInt(5, 1);
        s.executeUpdate();
      }
      try (PreparedStatement s = c.prepareStatement("SELECT pg_notify(?, ?)")) {
        s.setString(1, CHANNEL);
        s.setString(2, QUEUE);
        s.execute();
      }
      c.commit();
    }
  }

  @Benchmark
  public void latency_toStart_jdbcListenClaim(Floor s) throws InterruptedException {
    awaitStart();
  }
}
