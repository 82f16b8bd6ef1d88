package dev.loomwork.postgres;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * LISTEN / NOTIFY: a queue's channel, sending a wake-up, subscribing a dedicated connection, and
 * waiting for wake-ups on it.
 */
final class PostgresNotifications extends PostgresOperations {

  /** The longest channel name PostgreSQL accepts (NAMEDATALEN - 1 bytes). */
  static final int MAX_CHANNEL_BYTES = 63;

  PostgresNotifications(DataSource dataSource) {
    super(dataSource);
  }

  /**
   * The notification channel of a queue: {@code loomwork.} and the queue's name when that fits
   * PostgreSQL's 63 bytes and has no control character, double quote or lone surrogate; else {@code loomwork.#} and
   * a hash of the name. Two queues may share a hashed channel: a wake-up is a hint, never a claim.
   */
  static String channel(String queue) {
    String plain = "loomwork." + queue;
    boolean safe =
        plain.getBytes(StandardCharsets.UTF_8).length <= MAX_CHANNEL_BYTES
            && queue.codePoints()
                .allMatch(cp -> cp >= 0x20 && cp != 0x7f && cp != '"' && (cp < 0xd800 || cp > 0xdfff));
    if (safe) {
      return plain;
    }
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(queue.getBytes(StandardCharsets.UTF_8));
      return "loomwork.#" + HexFormat.of().formatHex(hash, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /**
   * Sends a wake-up for a queue on the caller's connection: {@code pg_notify} on the queue's
   * channel with the queue's name as payload. In a transaction, PostgreSQL delivers it at commit,
   * and folds identical ones of one transaction into one; a rollback drops it. Does nothing else to
   * the connection. Debouncing is the caller's.
   */
  static void notifyQueue(Connection connection, String queue) throws SQLException {
    try (PreparedStatement s = connection.prepareStatement("SELECT pg_notify(?, ?)")) {
      s.setString(1, channel(queue));
      s.setString(2, queue);
      s.execute();
    }
  }

  /** Sends a wake-up for a queue on a connection of the store's, committed at once. */
  void notifyQueue(String queue) throws SQLException {
    autoCommitted(
        c -> {
          notifyQueue(c, queue);
          return null;
        });
  }

  /**
   * Takes the transaction-scoped advisory lock ({@code lockClass}, the caller's backend pid) on the
   * caller's connection, in its transaction, so that {@link #notifyAfter} can wait for the end of
   * that transaction. Re-entrant within one transaction. Does nothing else to the connection.
   *
   * @return the caller's backend pid
   */
  static int holdUntilEnd(Connection caller, int lockClass) throws SQLException {
    try (PreparedStatement s =
        caller.prepareStatement("SELECT pg_backend_pid(), pg_advisory_xact_lock(?, pg_backend_pid())")) {
      s.setInt(1, lockClass);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getInt(1);
      }
    }
  }

  /**
   * Sends a wake-up for a queue once the transactions that hold the locks of {@link #holdUntilEnd}
   * for {@code backends} have ended: takes each in shared mode, waiting up to {@code timeout} for
   * each, and sends the NOTIFY in the same transaction, so it is delivered after their commits.
   *
   * @throws SQLException if a lock was not granted in time (SQLSTATE 55P03); nothing was sent then
   */
  void notifyAfter(String queue, int lockClass, Collection<Integer> backends, Duration timeout)
      throws SQLException {
    inTransaction(
        c -> {
          if (!backends.isEmpty()) {
            try (Statement s = c.createStatement()) {
              s.execute("SET LOCAL lock_timeout = " + Math.max(1, timeout.toMillis()));
            }
            try (PreparedStatement s = c.prepareStatement("SELECT pg_advisory_xact_lock_shared(?, ?)")) {
              for (int pid : backends) {
                s.setInt(1, lockClass);
                s.setInt(2, pid);
                s.execute();
              }
            }
          }
          notifyQueue(c, queue);
          return null;
        });
  }

  /**
   * Subscribes a dedicated connection to a queue's wake-ups. The connection must be in auto-commit
   * mode (a LISTEN takes effect at commit) and must be PostgreSQL's driver's, possibly wrapped.
   */
  static void listen(Connection listener, String queue) throws SQLException {
    try (Statement s = listener.createStatement()) {
      s.execute("LISTEN " + quoteIdentifier(channel(queue)));
    }
  }

  /** Ends a subscription of {@link #listen}. */
  static void unlisten(Connection listener, String queue) throws SQLException {
    try (Statement s = listener.createStatement()) {
      s.execute("UNLISTEN " + quoteIdentifier(channel(queue)));
    }
  }

  /**
   * Waits up to {@code timeout} for wake-ups on a listening connection and returns the queues they
   * name, in the order received (possibly with repeats); empty if none came in time. Returns as soon
   * as at least one has arrived.
   *
   * @param timeout at least a millisecond is waited
   * @throws SQLException if the connection broke: the caller must LISTEN again on a new connection
   *     and claim once, since wake-ups sent meanwhile are lost
   */
  static List<String> awaitNotifications(Connection listener, Duration timeout) throws SQLException {
    long millis = Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    PGNotification[] received = listener.unwrap(PGConnection.class).getNotifications((int) millis);
    if (received == null || received.length == 0) {
      return List.of();
    }
    List<String> queues = new ArrayList<>(received.length);
    for (PGNotification n : received) {
      queues.add(n.getParameter());
    }
    return List.copyOf(queues);
  }
}
