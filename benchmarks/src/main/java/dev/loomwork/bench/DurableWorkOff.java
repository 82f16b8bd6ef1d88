package dev.loomwork.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.loomwork.ShutdownReport;
import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import dev.loomwork.WorkQueueListener;
import dev.loomwork.postgres.PostgresStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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

/**
 * Working off a backlog: {@code tasks} no-op tasks are inserted before each iteration (untimed, one
 * {@code INSERT ... SELECT generate_series}, then {@code ANALYZE} and a {@code CHECKPOINT}), and the
 * iteration is the time until every one of them has succeeded in the store. Score: milliseconds per
 * backlog (single shot); tasks/s is {@code tasks} / score.
 *
 * <ul>
 *   <li>{@link #workOff_loomwork}: a durable {@link WorkQueue} at concurrency {@value #CONCURRENCY}
 *       on a {@link PostgresStore} over a pool of {@value #POOL} connections. It starts (registers
 *       its worker, LISTENs, claims), and ends when a listener has counted every {@code onSucceeded}
 *       and {@code shutdown()} has written the last outcomes.
 *   <li>{@link #workOff_jdbcClaim100Complete100}: the floor of the same SQL: {@value #POOL} threads
 *       over a pool of {@value #POOL} connections, each looping "claim 100 (loomwork's claim
 *       statement), run them, complete 100 (loomwork's completion statement)" until a claim finds
 *       nothing.
 * </ul>
 *
 * Both check, after the iteration, that every task ran exactly once ({@link Plan}) and that the
 * store holds every row as succeeded at attempt 1.
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
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Threads(1)
public class DurableWorkOff {

  /** The durable queue's concurrency. */
  static final int CONCURRENCY = 100;

  /** Connections of each side's pool; the JDBC floor runs this many claim/complete loops. */
  static final int POOL = 4;

  /** Tasks claimed and completed per statement by the JDBC floor. */
  static final int BATCH = 100;

  static final String QUEUE = "workoff";

  /** Tasks in each iteration's backlog (quick mode passes fewer). */
  @Param({"100000"})
  public int tasks;

  Plan plan;
  HikariDataSource pool;
  DurableActivity activity;

  @Setup(Level.Trial)
  public void openPool(DurableServer server) {
    pool = server.pool("workoff", POOL);
  }

  @TearDown(Level.Trial)
  public void closePool() {
    pool.close();
  }

  /** The backlog: task i has payload i. Untimed. */
  @Setup(Level.Iteration)
  public void insertBacklog(DurableServer server) throws SQLException {
    server.reset();
    server.exec(
        "INSERT INTO loomwork_task (queue, handler, payload, max_attempts)"
            + " SELECT '" + QUEUE + "', 'noop', to_jsonb(i), 1 FROM generate_series(0, " + (tasks - 1) + ") AS i",
        "ANALYZE loomwork_task",
        "CHECKPOINT");
    plan = Plan.allSucceed(tasks);
    worker = registerWorker(server); // for the floor's claims; loomwork registers its own
    activity = DurableActivity.startIfEnabled(server);
  }

  /** Every task ran once, and the store says so. Untimed. */
  @TearDown(Level.Iteration)
  public void check(DurableServer server) throws SQLException, InterruptedException {
    if (activity != null) {
      activity.close();
    }
    plan.verify();
    long done =
        server.count(
            "SELECT count(*) FROM loomwork_task WHERE queue = '" + QUEUE + "' AND state = 'succeeded' AND attempt = 1");
    long all = server.count("SELECT count(*) FROM loomwork_task");
    if (done != tasks || all != tasks) {
      throw new IllegalStateException(
          all + " rows, " + done + " succeeded at attempt 1; expected " + tasks + " of each");
    }
    printBatches(server);
  }

  /**
   * How the backlog was worked off, from the rows: the tasks one claim statement took share its
   * transaction's {@code now()} as {@code attempted_at}, and those one completion statement ended
   * share {@code finished_at}. So: how many claims and completions, how many rows each, and the time
   * from the first claim to the last completion (in the database).
   */
  private void printBatches(DurableServer server) throws SQLException {
    long claims = server.count("SELECT count(DISTINCT attempted_at) FROM loomwork_task");
    long completions = server.count("SELECT count(DISTINCT finished_at) FROM loomwork_task");
    long micros =
        server.count(
            "SELECT (extract(epoch FROM max(finished_at) - min(attempted_at)) * 1000000)::bigint FROM loomwork_task");
    System.out.printf(
        "%n[durable] %d tasks: %d claims (%.1f tasks each), %d completions (%.1f each), first claim to last"
            + " completion %.1f ms (%.0f tasks/s)%n",
        tasks, claims, (double) tasks / claims, completions, (double) tasks / completions, micros / 1000.0,
        tasks / (micros / 1e6));
  }

  // ------------------------------------------------------------------------------------------
  // loomwork
  // ------------------------------------------------------------------------------------------

  /** A fresh durable queue per iteration (a queue that shut down does not start again). */
  @State(Scope.Benchmark)
  public static class Durable {
    WorkQueue queue;

    @Setup(Level.Iteration)
    public void build(DurableWorkOff b) {
      PostgresStore store = PostgresStore.of(b.pool);
      queue =
          WorkQueue.builder(QUEUE)
              .store(store)
              .concurrency(CONCURRENCY)
              .handle(DurableServer.NOOP, (ctx, i) -> b.plan.attempt(i))
              .listener(
                  new WorkQueueListener() {
                    @Override
                    public void onSucceeded(Task<?> task) {
                      b.plan.succeeded();
                    }

                    @Override
                    public void onFailed(Task<?> task, Throwable error) {
                      b.plan.gaveUp(error);
                    }
                  })
              .build();
    }
  }

  /**
   * How long the durable queue's shutdown may take to write its last outcomes. Generous: a slow
   * flush is a figure to measure, not a hang (its {@code shutdown} returns a clean report at the
   * deadline even while the outcomes are still being written, so the end is checked below).
   */
  static final Duration SHUTDOWN = Duration.ofMinutes(10);

  @Benchmark
  public void workOff_loomwork(Durable s) throws InterruptedException {
    s.queue.start();
    plan.awaitAndVerify();
    ShutdownReport report = s.queue.shutdown(SHUTDOWN); // writes the outcomes not yet flushed
    if (!report.cancelled().isEmpty() || !report.abandoned().isEmpty() || !s.queue.isTerminated()) {
      throw new IllegalStateException(
          "the durable queue did not finish writing its outcomes within " + SHUTDOWN + ": " + s.queue + ", " + report);
    }
  }

  // ------------------------------------------------------------------------------------------
  // The JDBC floor: loomwork's statements, 100 at a time, no engine.
  // ------------------------------------------------------------------------------------------

  /** The worker row the floor's claims name (the claim statement checks its lease). */
  long worker;

  private static long registerWorker(DurableServer server) throws SQLException {
    try (Connection c = server.admin();
        PreparedStatement s =
            c.prepareStatement(
                "INSERT INTO loomwork_worker (queue, expires_at) VALUES (?, now() + interval '1 hour') RETURNING id")) {
      s.setString(1, QUEUE);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getLong(1);
      }
    }
  }

  @Benchmark
  public void workOff_jdbcClaim100Complete100() throws InterruptedException, ExecutionException {
    try (ExecutorService loops = Executors.newFixedThreadPool(POOL)) {
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < POOL; i++) {
        done.add(
            loops.submit(
                () -> {
                  while (claimRunComplete() > 0) {}
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    }
    plan.awaitAndVerify();
  }

  /** One turn of a loop: claim up to 100, run them, complete them. Returns how many it claimed. */
  private int claimRunComplete() throws SQLException {
    List<long[]> claimed = new ArrayList<>(BATCH); // id, attempt
    try (Connection c = pool.getConnection();
        PreparedStatement s = c.prepareStatement(DurableSql.CLAIM)) {
      s.setLong(1, worker);
      s.setString(2, QUEUE);
      s.setArray(3, c.createArrayOf("text", new Object[] {"noop"}));
      s.setInt(4, BATCH);
      s.setLong(5, worker);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          if (!r.getBoolean(1)) {
            throw new IllegalStateException("the floor's worker lost its lease");
          }
          long id = r.getLong(2);
          if (r.wasNull()) {
            continue;
          }
          // The body: the payload is the task's index (as loomwork's codec would decode it).
          plan.run(Integer.parseInt(r.getString(4)));
          claimed.add(new long[] {id, r.getInt(6)});
        }
      }
    }
    if (claimed.isEmpty()) {
      return 0;
    }
    int n = claimed.size();
    Long[] ids = new Long[n];
    Integer[] attempts = new Integer[n];
    String[] states = new String[n];
    Long[] delays = new Long[n];
    String[] errors = new String[n];
    for (int i = 0; i < n; i++) {
      ids[i] = claimed.get(i)[0];
      attempts[i] = (int) claimed.get(i)[1];
      states[i] = "succeeded";
      delays[i] = 0L;
    }
    try (Connection c = pool.getConnection();
        PreparedStatement s = c.prepareStatement(DurableSql.COMPLETE)) {
      s.setArray(1, c.createArrayOf("int8", ids));
      s.setArray(2, c.createArrayOf("int4", attempts));
      s.setArray(3, c.createArrayOf("text", states));
      s.setArray(4, c.createArrayOf("int8", delays));
      s.setArray(5, c.createArrayOf("text", errors));
      s.setLong(6, worker);
      int applied = 0;
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          applied++;
        }
      }
      if (applied != n) {
        throw new IllegalStateException(applied + " of " + n + " completions applied");
      }
    }
    return n;
  }
}
