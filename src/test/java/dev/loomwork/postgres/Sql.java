package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/** Small JDBC helpers for the store's tests: one statement, its own connection, auto-commit. */
final class Sql {
  private Sql() {}

  /** Runs a statement with parameters; returns the update count. */
  static int exec(DataSource ds, String sql, @Nullable Object... args) throws SQLException {
    try (Connection c = ds.getConnection()) {
      return exec(c, sql, args);
    }
  }

  static int exec(Connection c, String sql, @Nullable Object... args) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      bind(s, args);
      if (s.execute()) {
        return -1;
      }
      return s.getUpdateCount();
    }
  }

  /** The first column of the first row, or null if there is no row. */
  static @Nullable Object value(DataSource ds, String sql, @Nullable Object... args) throws SQLException {
    try (Connection c = ds.getConnection()) {
      return value(c, sql, args);
    }
  }

  static @Nullable Object value(Connection c, String sql, @Nullable Object... args) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      bind(s, args);
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? r.getObject(1) : null;
      }
    }
  }

  static long count(DataSource ds, String sql, @Nullable Object... args) throws SQLException {
    Object v = value(ds, sql, args);
    return v == null ? 0 : ((Number) v).longValue();
  }

  static boolean bool(DataSource ds, String sql, @Nullable Object... args) throws SQLException {
    return Boolean.TRUE.equals(value(ds, sql, args));
  }

  /** Every row's first column, as longs. */
  static List<Long> longs(DataSource ds, String sql, @Nullable Object... args) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement s = c.prepareStatement(sql)) {
      bind(s, args);
      List<Long> out = new ArrayList<>();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          out.add(r.getLong(1));
        }
      }
      return out;
    }
  }

  private static void bind(PreparedStatement s, @Nullable Object[] args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      s.setObject(i + 1, args[i]);
    }
  }

  /**
   * Waits, up to the suite's generous timeout, until the query's boolean is true: for conditions of
   * the server that nothing signals (a backend waiting for a lock, a lease running out).
   */
  static void awaitTrue(DataSource ds, String sql, @Nullable Object... args) throws SQLException {
    awaitTrue(ds, GENEROUS, sql, args);
  }

  /** {@link #awaitTrue(DataSource, String, Object...)}, up to {@code timeout}. */
  static void awaitTrue(DataSource ds, Duration timeout, String sql, @Nullable Object... args)
      throws SQLException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long pause = TimeUnit.MILLISECONDS.toNanos(1);
    while (!bool(ds, sql, args)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not true within " + timeout + ": " + sql);
      }
      LockSupport.parkNanos(pause);
      pause = Math.min(pause * 2, TimeUnit.MILLISECONDS.toNanos(50));
    }
  }

  /** The backend pid of a connection. */
  static int pid(Connection c) throws SQLException {
    return ((Number) value(c, "SELECT pg_backend_pid()")).intValue();
  }

  /** Waits until the backend {@code pid} waits for a lock (a row, a transaction, an advisory lock). */
  static void awaitWaitingForLock(DataSource ds, int pid) throws SQLException {
    awaitTrue(ds, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ? AND wait_event_type = 'Lock')", pid);
  }

  /**
   * A connection that passes every call to {@code real} and records the name of each method called
   * on it, so a test can see what an operation did to a caller's connection.
   */
  static Connection recording(Connection real, List<String> calls) {
    InvocationHandler h =
        (proxy, method, args) -> {
          calls.add(method.getName());
          try {
            return method.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        };
    return (Connection) Proxy.newProxyInstance(Sql.class.getClassLoader(), new Class<?>[] {Connection.class}, h);
  }

  /**
   * A data source whose connections record the methods called on them into {@code calls}: to count
   * the statements an operation prepares.
   */
  static DataSource recording(DataSource real, List<String> calls) {
    InvocationHandler h =
        (proxy, method, args) -> {
          try {
            Object result = method.invoke(real, args);
            return result instanceof Connection c ? recording(c, calls) : result;
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        };
    return (DataSource) Proxy.newProxyInstance(Sql.class.getClassLoader(), new Class<?>[] {DataSource.class}, h);
  }

  /** A fresh list for {@link #recording}. */
  static List<String> calls() {
    return new CopyOnWriteArrayList<>();
  }
}
