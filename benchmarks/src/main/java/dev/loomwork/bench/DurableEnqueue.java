package dev.loomwork.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.loomwork.Task;
import dev.loomwork.postgres.PostgresStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Transactional enqueue: one task per transaction, on the application's connection (auto-commit
 * off, held by each benchmark thread for the trial, from a HikariCP pool). Score: committed
 * transactions (= tasks) per second.
 *
 * <ul>
 *   <li>{@code *_loomwork}: {@code store.enqueue(connection, queue, task)} then {@code commit()}: the
 *       payload encoded, the store's insert with {@code RETURNING id}, and the debounced NOTIFY (in
 *       the caller's transaction when the queue had none in the last 100 ms; else at most one
 *       trailing NOTIFY per 100 ms, sent on a connection of the store's own pool of 2).
 *   <li>{@code *_jdbcInsert}: a plain JDBC insert of the same row into the same table (same indexes),
 *       without {@code RETURNING} or NOTIFY, prepared per call as the store does (the driver caches
 *       the server-side statement either way), then {@code commit()}.
 * </ul>
 *
 * With 1 thread (target: loomwork at least 0.9× the plain insert) and with 16 (at least 0.8×: the
 * commit rate without NOTIFY; a NOTIFY in every transaction serialises commits, which {@code
 * enqueue16_jdbcInsertNotifyEach} shows). No queue runs; the
 * rows stay ready. Each iteration starts from an empty table after a CHECKPOINT, and ends with a
 * check that the table holds exactly one row per commit, each with its own payload.
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
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class DurableEnqueue {

  static final String QUEUE = "enqueue";

  /** The application's pool: one connection per benchmark thread, at most 16. */
  HikariDataSource app;

  /** The store's own pool (its trailing NOTIFYs). */
  HikariDataSource storePool;

  PostgresStore store;

  /** Payloads: unique across threads, so the check can see a lost or doubled row. */
  final AtomicInteger nextPayload = new AtomicInteger();

  /** Transactions committed this iteration, by every thread. */
  final AtomicLong committed = new AtomicLong();

  @Setup(Level.Trial)
  public void open(DurableServer server) {
    app = server.pool("app", 16);
    storePool = server.pool("store", 2);
    store = PostgresStore.of(storePool);
  }

  @TearDown(Level.Trial)
  public void close() {
    app.close();
    storePool.close();
  }

  @Setup(Level.Iteration)
  public void empty(DurableServer server) throws SQLException {
    server.reset();
    committed.set(0);
  }

  /** One row per commit, each payload once, all ready. Untimed. */
  @TearDown(Level.Iteration)
  public void check(DurableServer server) throws SQLException {
    long want = committed.get();
    long rows = server.count("SELECT count(*) FROM loomwork_task WHERE queue = '" + QUEUE + "' AND state = 'ready'");
    long distinct = server.count("SELECT count(DISTINCT payload) FROM loomwork_task");
    long all = server.count("SELECT count(*) FROM loomwork_task");
    if (rows != want || distinct != want || all != want) {
      throw new IllegalStateException(
          all + " rows (" + rows + " ready, " + distinct + " distinct payloads) for " + want + " commits");
    }
  }

  /** A benchmark thread's connection, auto-commit off, held for the trial. */
  @State(Scope.Thread)
  public static class Caller {
    Connection connection;

    @Setup(Level.Trial)
    public void borrow(DurableEnqueue b) throws SQLException {
      connection = b.app.getConnection();
      connection.setAutoCommit(false);
    }

    @TearDown(Level.Trial)
    public void giveBack() {
      // JMH may run this after the benchmark's own trial teardown closed the pool: nothing to do then.
      // Every operation committed: the connection is clean, and goes back without a rollback.
      try {
        connection.close();
      } catch (SQLException | RuntimeException closedAlready) {
        // the pool (and so the connection) is closed
      }
    }
  }

  private long loomwork(Caller c) throws SQLException {
    long id = store.enqueue(c.connection, QUEUE, Task.of(DurableServer.NOOP, nextPayload.getAndIncrement()));
    c.connection.commit();
    committed.incrementAndGet();
    return id;
  }

  private int jdbcInsert(Caller c) throws SQLException {
    int n;
    try (PreparedStatement s = c.connection.prepareStatement(DurableSql.PLAIN_INSERT)) {
      s.setString(1, QUEUE);
      s.setString(2, "noop");
      s.setString(3, Integer.toString(nextPayload.getAndIncrement()));
      s.setString(4, null);
      s.setInt(5, 1);
      n = s.executeUpdate();
    }
    c.connection.commit();
    committed.incrementAndGet();
    return n;
  }

  /** The same insert with a NOTIFY in every transaction: what the store's debouncing avoids. */
  private int jdbcInsertNotify(Caller c) throws SQLException {
    int n;
    try (PreparedStatement s = c.connection.prepareStatement(DurableSql.PLAIN_INSERT)) {
      s.setString(1, QUEUE);
      s.setString(2, "noop");
      s.setString(3, Integer.toString(nextPayload.getAndIncrement()));
      s.setString(4, null);
      s.setInt(5, 1);
      n = s.executeUpdate();
    }
    try (PreparedStatement s = c.connection.prepareStatement("SELECT pg_notify(?, ?)")) {
      s.setString(1, "loomwork." + QUEUE);
      s.setString(2, QUEUE);
      s.execute();
    }
    c.connection.commit();
    committed.incrementAndGet();
    return n;
  }

  @Benchmark
  @Threads(1)
  public long txEnqueue_loomwork(Caller c) throws SQLException {
    return loomwork(c);
  }

  @Benchmark
  @Threads(1)
  public int txEnqueue_jdbcInsert(Caller c) throws SQLException {
    return jdbcInsert(c);
  }

  @Benchmark
  @Threads(16)
  public long enqueue16_loomwork(Caller c) throws SQLException {
    return loomwork(c);
  }

  @Benchmark
  @Threads(16)
  public int enqueue16_jdbcInsert(Caller c) throws SQLException {
    return jdbcInsert(c);
  }

  /** Not a target: the cost the debouncing saves (DURABLE.md measured about 0.1× with 16 writers). */
  @Benchmark
  @Threads(16)
  public int enqueue16_jdbcInsertNotifyEach(Caller c) throws SQLException {
    return jdbcInsertNotify(c);
  }
}
