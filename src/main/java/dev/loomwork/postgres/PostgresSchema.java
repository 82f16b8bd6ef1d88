package dev.loomwork.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;

/**
 * The schema of loomwork's PostgreSQL store, and its migration.
 *
 * <p>The schema is one SQL file per version, in this package's resources, named the way Flyway
 * names migrations: {@value #V1_RESOURCE}. {@link #migrate(DataSource)} applies what a database
 * lacks; users of Flyway or Liquibase may apply the same files themselves (see {@link #script(int)}),
 * since each file records its own version in the {@code loomwork_schema} table, a later {@code
 * migrate} then finds them applied.
 *
 * <p>The tables ({@code loomwork_task}, {@code loomwork_worker}, {@code loomwork_schema}) are
 * created unqualified, in the first schema of the connection's {@code search_path}.
 */
public final class PostgresSchema {

  /** The schema version this library needs. */
  public static final int VERSION = 3;

  /** The class-path resource of version 1 of the schema. */
  public static final String V1_RESOURCE = "dev/loomwork/postgres/V1__loomwork.sql";

  /** The class-path resource of version 2 of the schema: recurring tasks. */
  public static final String V2_RESOURCE = "dev/loomwork/postgres/V2__loomwork_schedule.sql";

  /**
   * The class-path resource of version 3 of the schema: payload versions, which workers claim by
   * during a rolling deploy.
   */
  public static final String V3_RESOURCE = "dev/loomwork/postgres/V3__loomwork_versions.sql";

  /**
   * The key of the transaction-scoped advisory lock that serialises migrations: the ASCII bytes of
   * "loomwork" as a big-endian {@code bigint}. The store's other locks are this key plus one, two...
   */
  static final long MIGRATION_LOCK = 0x6c6f6f6d776f726bL;

  private PostgresSchema() {}

  /**
   * Brings the database's loomwork schema up to {@link #VERSION}, and returns the version it found
   * before. Safe to call from several processes at once, and again: it takes a transaction-scoped
   * advisory lock, reads the version table, and applies only the missing versions, each in the same
   * transaction as the lock; a second caller waits for the first and then finds nothing to do.
   *
   * @param dataSource where the schema lives; the connection it gives must be allowed to create
   *     tables in the first schema of its {@code search_path}
   * @return the version found before (0 for a database without loomwork's tables)
   * @throws SQLException if the database refuses; nothing is applied then
   * @throws IllegalStateException if the database has a newer schema than this library knows
   */
  public static int migrate(DataSource dataSource) throws SQLException {
    return PostgresOperations.inTransaction(
        dataSource,
        c -> {
          try (Statement s = c.createStatement()) {
            s.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")");
            int found = version(s);
            if (found > VERSION) {
              throw new IllegalStateException(
                  "the database's loomwork schema is version " + found + ", newer than this library's "
                      + VERSION + ": upgrade loomwork");
            }
            for (int v = found + 1; v <= VERSION; v++) {
              s.execute(script(v));
            }
            return found;
          }
        });
  }

  /**
   * The schema version a database has: 0 without loomwork's tables.
   *
   * @param dataSource the database
   * @return its version
   * @throws SQLException if the database cannot be read
   */
  public static int version(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      return version(s);
    }
  }

  private static int version(Statement s) throws SQLException {
    try (ResultSet r = s.executeQuery("SELECT to_regclass('loomwork_schema') IS NOT NULL")) {
      r.next();
      if (!r.getBoolean(1)) {
        return 0;
      }
    }
    try (ResultSet r = s.executeQuery("SELECT coalesce(max(version), 0) FROM loomwork_schema")) {
      r.next();
      return r.getInt(1);
    }
  }

  /**
   * The SQL text of one version of the schema, as the resource holds it.
   *
   * @param version from 1 to {@link #VERSION}
   * @return the script
   */
  public static String script(int version) {
    String resource =
        switch (version) {
          case 1 -> V1_RESOURCE;
          case 2 -> V2_RESOURCE;
          case 3 -> V3_RESOURCE;
          default ->
              throw new IllegalArgumentException(
                  "version: " + version + " (expected: 1 to " + VERSION + ")");
        };
    String file = resource.substring(resource.lastIndexOf('/') + 1);
    try (InputStream in = PostgresSchema.class.getResourceAsStream(file)) {
      if (in == null) {
        throw new IllegalStateException("resource missing from the jar: " + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("could not read " + resource, e);
    }
  }
}
