package dev.loomwork.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Objects;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The shared base of the store's operation classes ({@link PostgresEnqueue}, {@link PostgresClaims},
 * {@link PostgresLeases}, {@link PostgresTaskRows}, {@link PostgresMaintenance}, {@link
 * PostgresNotifications}): the data source, how an operation borrows a connection and commits
 * ({@link #autoCommitted}, {@link #inTransaction}), and the helpers that bind and read times and
 * check arguments.
 *
 * <p>Connections: an operation borrows one from the {@link DataSource} per call and leaves it as it
 * found it: on an auto-commit connection the statement commits itself; otherwise the operation
 * commits (or rolls back) before it returns. Nothing holds a connection or a transaction between
 * calls, so an attempt never holds one of loomwork's. {@link PostgresEnqueue#enqueue(Connection,
 * PostgresTypes.NewTask)} is the exception: it runs on the caller's connection and does nothing else
 * to it. Each operation that DURABLE.md makes one statement is one statement; the ones behind an
 * advisory lock are the lock and that statement in one transaction.
 *
 * <p>Time: every expiry and delay is computed with the database's {@code now()} (the start of the
 * statement's transaction), never with this process's clock. Only {@link
 * PostgresTypes.NewTask#notBefore()}, an absolute time the application chose, comes from outside.
 */
abstract class PostgresOperations {

  /**
   * Delays and durations beyond this are clamped to it: 7,000 years is "never", and keeps every time
   * the store writes within four-digit years (a longer {@code within} means no deadline).
   */
  static final Duration MAX_DURATION = Duration.ofDays(365L * 7_000);

  /** Times beyond this are clamped to it (PostgreSQL's own range ends in the year 294276). */
  static final Instant MAX_INSTANT = Instant.parse("9999-12-31T23:59:59Z");

  private final DataSource dataSource;

  /**
   * @param dataSource where the schema lives; the store borrows one connection per operation
   */
  PostgresOperations(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  /** A function of a connection that may throw SQLException. */
  @FunctionalInterface
  interface SqlFunction<R> {
    R apply(Connection c) throws SQLException;
  }

  /**
   * Runs {@code f} on a borrowed connection. An auto-commit connection (the usual) commits each
   * statement itself, so a one-statement operation costs one round trip; on a connection the pool
   * hands out with auto-commit off, this commits after {@code f}, or rolls back if it throws.
   */
  final <R> R autoCommitted(SqlFunction<R> f) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      if (c.getAutoCommit()) {
        return f.apply(c);
      }
      return committed(c, f);
    } catch (SQLException e) {
      throw explained(e);
    }
  }

  /** PostgreSQL's SQLSTATE for a table that does not exist. */
  static final String UNDEFINED_TABLE = "42P01";

  /**
   * A missing loomwork table means the schema was never applied: says so, and what to call, in an
   * exception of the same SQLSTATE with the driver's as its cause. Any other error is returned as it
   * is.
   */
  static SQLException explained(SQLException e) {
    String message = e.getMessage();
    if (!UNDEFINED_TABLE.equals(e.getSQLState()) || message == null || !message.contains("loomwork_")) {
      return e;
    }
    return new SQLException(
        "loomwork's tables are missing from this database (" + message.strip() + "): apply the schema"
            + " first, with PostgresStore.migrate() (or PostgresSchema.migrate(dataSource), or the SQL"
            + " of PostgresSchema.script(1) to script(" + PostgresSchema.VERSION + ") in your own"
            + " migrations), before enqueueing or starting a"
            + " queue on the store",
        UNDEFINED_TABLE,
        e);
  }

  /** Runs {@code f} in one transaction on a borrowed connection, and restores its auto-commit. */
  final <R> R inTransaction(SqlFunction<R> f) throws SQLException {
    try {
      return inTransaction(dataSource, f);
    } catch (SQLException e) {
      throw explained(e);
    }
  }

  /**
   * Runs {@code f} in one transaction on a connection borrowed from {@code dataSource}: commits
   * after it, or rolls back if it throws (the rollback's own failure is added as suppressed), and
   * restores the connection's auto-commit before returning it.
   */
  static <R> R inTransaction(DataSource dataSource, SqlFunction<R> f) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      if (autoCommit) {
        c.setAutoCommit(false);
      }
      try {
        return committed(c, f);
      } finally {
        if (autoCommit) {
          c.setAutoCommit(true);
        }
      }
    }
  }

  private static <R> R committed(Connection c, SqlFunction<R> f) throws SQLException {
    R result;
    try {
      result = f.apply(c);
    } catch (SQLException | RuntimeException | Error e) {
      try {
        c.rollback();
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    c.commit();
    return result;
  }

  static boolean tryXactLock(Connection c, long key) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT pg_try_advisory_xact_lock(?)")) {
      s.setLong(1, key);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getBoolean(1);
      }
    }
  }

  static String quoteIdentifier(String name) {
    return '"' + name.replace("\"", "\"\"") + '"';
  }

  /** A duration in microseconds (PostgreSQL's resolution), clamped to {@link #MAX_DURATION}. */
  static long micros(Duration d) {
    Duration clamped = d.compareTo(MAX_DURATION) > 0 ? MAX_DURATION : d;
    return clamped.getSeconds() * 1_000_000L + clamped.getNano() / 1_000;
  }

  static void setInstant(PreparedStatement s, int i, @Nullable Instant t) throws SQLException {
    if (t == null) {
      s.setNull(i, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      Instant clamped = t.isAfter(MAX_INSTANT) ? MAX_INSTANT : t;
      s.setObject(i, OffsetDateTime.ofInstant(clamped, ZoneOffset.UTC));
    }
  }

  static Instant instant(ResultSet r, int column) throws SQLException {
    Instant t = nullableInstant(r, column);
    if (t == null) {
      throw new SQLException("column " + column + " is null");
    }
    return t;
  }

  static @Nullable Instant nullableInstant(ResultSet r, int column) throws SQLException {
    OffsetDateTime t = r.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }

  static void requireText(String value, String what) {
    Objects.requireNonNull(value, what);
    if (value.isBlank()) {
      throw new IllegalArgumentException(what + ": '" + value + "' (expected: not blank)");
    }
  }

  static void requirePositive(Duration d, String what) {
    Objects.requireNonNull(d, what);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + ": " + d + " (expected: > 0)");
    }
  }

  static void requireNotNegative(Duration d, String what) {
    Objects.requireNonNull(d, what);
    if (d.isNegative()) {
      throw new IllegalArgumentException(what + ": " + d + " (expected: >= 0)");
    }
  }
}
