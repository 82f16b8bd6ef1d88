package dev.loomwork.postgres;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wake-ups at enqueue, debounced per queue: a NOTIFY in every transaction serialises commits (it was
 * measured at a fifth of the commit rate with 16 writers and fsync on). The first enqueue of a quiet
 * queue sends one in its own transaction, so that it arrives at commit; later ones within {@value
 * #WINDOW_MILLIS} ms send nothing and leave one trailing NOTIFY, sent on the store's own connection
 * at the end of the window. So at most about 500 commits a second per queue and process carry a
 * NOTIFY, and a task enqueued back to back waits at most about a window for its wake-up. A trailing
 * NOTIFY may arrive before a long transaction commits: workers also poll, so a wake-up lost this
 * way costs at most a poll interval.
 */
final class Debouncer {
  private static final Logger log = LoggerFactory.getLogger(PostgresStore.class);
  static final long WINDOW_MILLIS = 2;
  private static final long WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(WINDOW_MILLIS);

  private final PostgresNotifications notifications;
  /** Per queue: when its last NOTIFY was sent or is due, and whether a trailing one is scheduled. */
  private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

  private static final class Window {
    boolean sent;
    long sentAt;
    boolean trailing;
  }

  Debouncer(PostgresNotifications notifications) {
    this.notifications = notifications;
  }

  /** After an enqueue on the caller's connection, in its transaction. */
  void inTransaction(Connection caller, String queue) throws SQLException {
    if (claimLeading(queue)) {
      PostgresNotifications.notifyQueue(caller, queue);
    }
  }

  /** After an enqueue that committed by itself. */
  void afterCommit(String queue) throws SQLException {
    if (claimLeading(queue)) {
      notifications.notifyQueue(queue);
    }
  }

  /** True if the caller sends the NOTIFY now; otherwise a trailing one is (or already was) scheduled. */
  private boolean claimLeading(String queue) {
    long now = System.nanoTime();
    Window w = windows.computeIfAbsent(queue, q -> new Window());
    long wait;
    synchronized (w) {
      if (!w.sent || now - w.sentAt >= WINDOW_NANOS) {
        w.sent = true;
        w.sentAt = now;
        return true;
      }
      if (w.trailing) {
        return false;
      }
      w.trailing = true;
      wait = w.sentAt + WINDOW_NANOS - now;
    }
    Thread.ofVirtual().name("loomwork-notify-" + queue).start(() -> trail(queue, w, wait));
    return false;
  }

  private void trail(String queue, Window w, long waitNanos) {
    try {
      TimeUnit.NANOSECONDS.sleep(waitNanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (w) {
      w.trailing = false;
      w.sentAt = System.nanoTime();
    }
    try {
      notifications.notifyQueue(queue);
    } catch (SQLException e) {
      log.debug("queue '{}': a trailing NOTIFY failed; workers will poll", queue, e);
    }
  }
}
