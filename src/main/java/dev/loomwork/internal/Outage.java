package dev.loomwork.internal;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;

/**
 * Whether a durable queue's store is failing, so that an outage is two log lines and not one per
 * retry: a WARN when its first loop fails (with the cause, no stack trace), an INFO when the last
 * failing loop gets an answer again (with the outage's length and its failed operations). Between
 * them every failure is logged at DEBUG, with its stack trace. Each failure is also counted by the
 * {@code loomwork.store.failures} meter ({@link StoreLoop}).
 *
 * <p>An outage ends only when every loop that failed in it has succeeded once, so that one loop that
 * still fails (a rescue whose statement the schema refuses) keeps it open instead of opening and
 * closing it at every turn. Guarded by its own lock, a leaf: never held while taking another.
 */
final class Outage {
  private static final Logger log = Log.LOG;

  private final String queue;
  private final ReentrantLock lock = new ReentrantLock();
  // ---- guarded by lock ----
  private final Set<StoreLoop> failing = new HashSet<>();
  private long since;
  private long failedOperations;

  Outage(String queue) {
    this.queue = queue;
  }

  /** A loop's turn failed. */
  void failed(StoreLoop loop, Exception e) {
    boolean began;
    lock.lock();
    try {
      failedOperations++;
      began = failing.isEmpty();
      if (began) {
        since = System.nanoTime();
      }
      failing.add(loop);
    } finally {
      lock.unlock();
    }
    if (began) {
      log.warn(
          "queue '{}': the store cannot be reached ({} failed: {}); its loops retry with backoff up"
              + " to {} s and log again once it answers",
          queue, loop.operation, cause(e), StoreLoop.MAX_BACKOFF_MILLIS / 1000);
    }
    if (log.isDebugEnabled()) {
      log.debug("queue '{}': {} failed", queue, loop.operation, e);
    }
  }

  /** A loop that had failed got an answer from the store. */
  void recovered(StoreLoop loop) {
    long millis;
    long operations;
    lock.lock();
    try {
      if (!failing.remove(loop) || !failing.isEmpty()) {
        return;
      }
      millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
      operations = failedOperations;
      failedOperations = 0;
    } finally {
      lock.unlock();
    }
    log.info("queue '{}': the store answers again, after an outage of {} ms ({} failed operations)",
        queue, millis, operations);
  }

  /** Whether some loop is failing now. */
  boolean ongoing() {
    lock.lock();
    try {
      return !failing.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  /** The exception and its root cause, in one line. */
  static String cause(Throwable e) {
    Throwable root = e;
    for (int i = 0; root.getCause() != null && root.getCause() != root && i < 20; i++) {
      root = root.getCause();
    }
    return root == e ? e.toString() : e + "; caused by " + root;
  }
}
