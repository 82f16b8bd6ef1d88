package dev.loomwork.postgres;

import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wake-ups at enqueue, debounced per queue: a NOTIFY in every transaction serialises commits (it was
 * measured at a fifth of the commit rate with 16 writers and fsync on). The first enqueue of a quiet
 * queue sends one in its insert's statement ({@code pg_notify}), so that it arrives at its
 * transaction's commit; later ones within the
 * window ({@value #WINDOW_MILLIS} ms by default) send none and leave one trailing NOTIFY, sent on
 * the store's own connection at the end of the window. So at most about 500 commits a second per
 * queue and process carry a NOTIFY.
 *
 * <p><b>Every committed enqueue wakes a worker.</b> A trailing NOTIFY sent at the end of the window
 * could arrive before an enqueue of the window commits, and that enqueue would then wait for a poll
 * (issue 20, point 4: p50 555 ms). So an enqueue on the caller's connection that leaves the wake-up
 * to the trailing NOTIFY takes a transaction-scoped advisory lock keyed by its backend's pid ({@link
 * #LOCK_CLASS}, pid), which its transaction holds until it commits or rolls back; the insert's own
 * statement takes it, so it costs no round trip, and no contention (no other backend takes that key
 * but the trailer). The decision ({@link #decide}) comes before the insert so that the insert can
 * carry it: an enqueue is one round trip, whatever the decision. The trailer takes each such key in
 * shared mode in its own transaction, so it waits until every one of those transactions has ended,
 * and sends the NOTIFY in the same transaction:
 * it arrives after their commit. A transaction that holds its lock longer than {@link
 * #LOCK_TIMEOUT} (a long application transaction) gets a NOTIFY at that point instead, and its
 * enqueue a worker's poll. An enqueue that committed by itself needs no lock: it committed before
 * the trailer was scheduled.
 *
 * <p>Thread-safe: each queue's {@link Window} is guarded by its own monitor, held only to decide;
 * the SQL runs outside it, on the caller's thread or the trailer's virtual thread.
 */
final class Debouncer {
  private static final Logger log = LoggerFactory.getLogger(PostgresStore.class);
  static final long WINDOW_MILLIS = 2;
  /** The first key of the advisory locks of enqueues that wait for a trailing NOTIFY ("loom"). */
  static final int LOCK_CLASS = 0x6c6f6f6d;
  /** How long a trailer waits for an enqueue's transaction before it notifies anyway. */
  static final Duration LOCK_TIMEOUT = Duration.ofSeconds(1);

  private final PostgresNotifications notifications;
  private final long windowNanos;
  /** Per queue: when its last NOTIFY was sent, what waits for the trailing one. */
  private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

  /** A queue's window. Every field is guarded by the window's monitor. */
  private static final class Window {
    boolean sent;
    long sentAt;
    /** A trailer thread runs for this queue; it alone clears this, when nothing is pending. */
    boolean trailing;
    /** An enqueue that committed by itself waits for the trailing NOTIFY. */
    boolean committed;
    /** The backends whose open transactions enqueued and wait for the trailing NOTIFY. */
    Set<Integer> backends = new HashSet<>();
  }

  Debouncer(PostgresNotifications notifications) {
    this(notifications, Duration.ofMillis(WINDOW_MILLIS));
  }

  /** With another window: the tests make it long enough to enqueue inside it on a loaded machine. */
  Debouncer(PostgresNotifications notifications, Duration window) {
    this.notifications = notifications;
    this.windowNanos = window.toNanos();
  }

  /** How an enqueue wakes its queue's workers: decided before its insert, whose statement carries it. */
  enum Wake {
    /** The insert sends the queue's NOTIFY, delivered at its commit: none was sent within the window. */
    NOTIFY,
    /** The insert takes its transaction's advisory lock; the trailing NOTIFY waits for that transaction. */
    HOLD,
    /** Nothing: the insert commits by itself, before the trailing NOTIFY can be sent. */
    NONE
  }

  /**
   * Decides the wake-up of an enqueue about to insert.
   *
   * @param autoCommit true if the insert commits by itself, false if it runs in the caller's open
   *     transaction
   */
  Wake decide(String queue, boolean autoCommit) {
    if (lead(queue)) {
      return Wake.NOTIFY;
    }
    return autoCommit ? Wake.NONE : Wake.HOLD;
  }

  /**
   * After the insert of an enqueue whose wake-up was {@code wake}: a follower's wake-up is left to
   * the trailing NOTIFY, which this schedules if none is.
   *
   * @param backend the pid of the backend that holds the lock, for {@link Wake#HOLD}
   */
  void enqueued(String queue, Wake wake, int backend) {
    switch (wake) {
      case NOTIFY -> {}
      case HOLD -> follow(queue, backend);
      case NONE -> follow(queue, null);
    }
  }

  /** True if the caller sends the NOTIFY now: no NOTIFY was sent for the queue within the window. */
  private boolean lead(String queue) {
    Window w = windows.computeIfAbsent(queue, q -> new Window());
    long now = System.nanoTime();
    synchronized (w) {
      if (!w.sent || now - w.sentAt >= windowNanos) {
        w.sent = true;
        w.sentAt = now;
        return true;
      }
      return false;
    }
  }

  /**
   * Leaves the wake-up of an enqueue to the trailing NOTIFY, and starts the trailer if none runs.
   *
   * @param backend the pid whose transaction holds the enqueue's lock, or null if it committed
   */
  private void follow(String queue, @Nullable Integer backend) {
    Window w = windows.computeIfAbsent(queue, q -> new Window());
    synchronized (w) {
      if (backend == null) {
        w.committed = true;
      } else {
        w.backends.add(backend);
      }
      if (w.trailing) {
        return; // the running trailer takes it: it looks again after each NOTIFY
      }
      w.trailing = true;
    }
    Thread.ofVirtual().name("loomwork-notify-" + queue).start(() -> trail(queue, w));
  }

  /** Sends trailing NOTIFYs, one per window, until nothing waits for one. */
  private void trail(String queue, Window w) {
    while (true) {
      long wait;
      synchronized (w) {
        wait = w.sentAt + windowNanos - System.nanoTime();
      }
      if (wait > 0) {
        try {
          TimeUnit.NANOSECONDS.sleep(wait);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt(); // nobody interrupts it; notify now and end
        }
      }
      Set<Integer> backends;
      synchronized (w) {
        if (!w.committed && w.backends.isEmpty()) {
          w.trailing = false;
          return;
        }
        backends = w.backends;
        w.backends = new HashSet<>();
        w.committed = false;
      }
      try {
        notifications.notifyAfter(queue, LOCK_CLASS, backends, LOCK_TIMEOUT);
      } catch (SQLException e) {
        // Most likely a transaction that held its lock past the timeout: notify now, and let a
        // poll find what it enqueues.
        log.debug("queue '{}': a trailing NOTIFY could not wait for its enqueues; notifying now", queue, e);
        try {
          notifications.notifyQueue(queue);
        } catch (SQLException again) {
          log.debug("queue '{}': a trailing NOTIFY failed; workers will poll", queue, again);
        }
      }
      synchronized (w) {
        w.sent = true;
        w.sentAt = System.nanoTime();
      }
      if (Thread.currentThread().isInterrupted()) {
        synchronized (w) {
          w.trailing = false; // the next follower starts a new trailer
        }
        return;
      }
    }
  }
}
