package dev.loomwork.internal;

import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;

/**
 * The keeper of a durable worker's lease: renews it every heartbeat, and cuts the running attempts
 * whose cancel another process requested. A lease that is gone (the worker's row was rescued), or
 * that could not be renewed for a whole lease, is lost: the worker forgets its id and what it has not
 * written, and surrenders every task ({@link QueueState#surrenderAll}, in the same hold of the
 * queue's lock); the claimer registers again.
 *
 * <p>After a failed heartbeat it retries sooner than the usual backoff cap (at most one heartbeat
 * interval), so that a short outage does not cost the lease.
 */
final class LeaseKeeper extends StoreLoop {
  private static final Logger log = Log.LOG;

  private final QueueEngine queue;
  private final DurableBackend backend;
  private final DurableBooks books;
  private final ReentrantLock lock;
  private final Claimer claimer;
  private final StoreMeters meters;
  private final long heartbeatNanos;
  private final long leaseNanos;

  // ---- the loop's thread only ----
  private long worker;
  /** When the lease was last renewed (or when there was none to renew). */
  private long renewed = System.nanoTime();

  LeaseKeeper(
      QueueEngine queue,
      DurableBackend backend,
      DurableBooks books,
      ReentrantLock lock,
      Claimer claimer,
      Outage outage,
      StoreMeters meters) {
    super("lease", outage, meters);
    this.queue = queue;
    this.backend = backend;
    this.books = books;
    this.lock = lock;
    this.claimer = claimer;
    this.meters = meters;
    this.heartbeatNanos = backend.settings().heartbeat().toNanos();
    this.leaseNanos = backend.settings().lease().toNanos();
  }

  @Override
  long turn() throws Exception {
    lock.lock();
    try {
      worker = books.worker();
    } finally {
      lock.unlock();
    }
    long now = System.nanoTime();
    if (worker == 0) {
      renewed = now;
    } else if (now - renewed >= heartbeatNanos) {
      if (!backend.heartbeat(worker)) {
        loseLease(worker, "its row was gone at a heartbeat (it was rescued)");
      } else {
        renewed = now;
        cutCancelled(worker);
      }
    }
    return Math.max(1, renewed + heartbeatNanos - System.nanoTime());
  }

  @Override
  void failed(Exception e) {
    if (worker != 0 && System.nanoTime() - renewed >= leaseNanos) {
      loseLease(worker, "it could not renew its lease for " + backend.settings().lease());
      renewed = System.nanoTime();
    }
  }

  @Override
  long backoffCap() {
    return heartbeatNanos;
  }

  /** Cuts the running attempts whose cancel another process requested. */
  private void cutCancelled(long w) throws Exception {
    List<Long> ids = backend.cancelRequested(w);
    for (long id : ids) {
      TaskCore<?> t;
      lock.lock();
      try {
        t = books.claimedTask(id);
      } finally {
        lock.unlock();
      }
      if (t != null) {
        queue.cancel(t);
      }
    }
  }

  /**
   * The worker lost its lease: it forgets its id (the claimer registers again), drops the outcomes
   * not yet written, and surrenders every task; none of them writes or publishes anything. Any loop
   * may call it.
   */
  void loseLease(long w, String why) {
    List<Attempt> toCut;
    lock.lock();
    try {
      if (!books.lose(w)) {
        return; // already lost
      }
      toCut = queue.state.surrenderAll();
    } finally {
      lock.unlock();
    }
    meters.leaseLost();
    log.warn("queue '{}': worker {} lost its lease ({}); cutting its attempts and registering again",
        queue.name(), w, why);
    for (Attempt a : toCut) {
      a.interrupt();
    }
    claimer.wake();
  }
}
