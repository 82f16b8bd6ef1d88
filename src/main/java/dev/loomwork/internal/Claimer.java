package dev.loomwork.internal;

import dev.loomwork.internal.DurableBackend.Claimed;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The claim loop of a durable queue: registers the worker, then claims at most as many due tasks as
 * the queue has room for (free permits, less the ready tasks and the unwritten outcomes, read in one
 * hold of the queue's lock), and files them as ready tasks of this process ({@link
 * QueueState#arrive}); the dispatcher runs them like any other. It claims when woken (a
 * notification, a freed permit while the store had more, a written flush, a rescue), at the next due
 * task, or every poll interval.
 *
 * <p>While the store has a backlog ({@link #saturated}: the last claim took all it asked for) it
 * claims in batches of about half the concurrency (a claim is a commit), but never lets the
 * dispatcher run dry while permits are free. After a claim that found tasks it lingers, claiming
 * again every {@value #LINGER_MILLIS} ms for {@value #LINGER_ROUNDS} rounds: a producer's NOTIFY is
 * debounced, and the trailing one may come before a transaction that enqueued more commits.
 */
final class Claimer extends StoreLoop {
  private static final Logger log = Log.LOG;
  private static final long LINGER_MILLIS = 10;
  private static final int LINGER_ROUNDS = 5;

  private final QueueEngine queue;
  private final DurableBackend backend;
  private final DurableBooks books;
  private final ReentrantLock lock;
  private final RestoredTasks restored;
  private final StoreMeters meters;
  /** The handlers this worker claims, each with the newest payload version it reads. */
  private final Map<String, Integer> handlerVersions;
  private final long pollNanos;
  /** In saturation, claim only this many permits at once (or whatever is free once nothing is ready). */
  final int batch;
  /** The queue's concurrency, recorded on each worker row for an operator's list. */
  private final int concurrency;
  private @Nullable LeaseKeeper keeper;
  private @Nullable Flusher flusher;
  /** Whether the last claim took all it asked for: the store may have more, so a freed permit wakes us. */
  private volatile boolean saturated;

  // ---- the loop's thread only ----
  private long worker;
  /** A claim failed: it may have claimed rows whose answer was lost. */
  private boolean unsure;
  private int linger;

  Claimer(
      QueueEngine queue,
      DurableBackend backend,
      DurableBooks books,
      ReentrantLock lock,
      RestoredTasks restored,
      int concurrency,
      Outage outage,
      StoreMeters meters) {
    super("claimer", outage, meters);
    this.queue = queue;
    this.backend = backend;
    this.books = books;
    this.lock = lock;
    this.restored = restored;
    this.meters = meters;
    this.handlerVersions = restored.handlerVersions();
    this.pollNanos = backend.settings().pollInterval().toNanos();
    this.batch = Math.max(1, Math.min(concurrency, 100) / 2);
    this.concurrency = concurrency;
  }

  /** Set once, before the loops start (the two know each other). */
  void keeper(LeaseKeeper keeper) {
    this.keeper = keeper;
  }

  /** Set once, before the loops start: a claim waits for the flusher's retry events (see there). */
  void flusher(Flusher flusher) {
    this.flusher = flusher;
  }

  boolean saturated() {
    return saturated;
  }

  /**
   * Under the queue's lock, when a permit was freed: if the store may have more due tasks, wake the
   * claimer once a claim is worth it.
   *
   * @param room the free permits less the ready tasks and the unwritten outcomes
   * @param ready the ready tasks
   */
  void freed(int room, int ready) {
    if (saturated && worthClaiming(room, ready)) {
      wake();
    }
  }

  private boolean worthClaiming(int room, int ready) {
    return room >= batch || (room > 0 && ready == 0);
  }

  /** Whether the queue's worker is registered now. Any thread; takes the queue's lock briefly. */
  boolean registered() {
    lock.lock();
    try {
      return books.worker() != 0;
    } finally {
      lock.unlock();
    }
  }

  @Override
  long turn() throws Exception {
    long gen;
    lock.lock();
    try {
      worker = books.worker();
      gen = books.generation();
    } finally {
      lock.unlock();
    }
    if (worker == 0) {
      worker = register(gen);
      if (worker == 0) {
        return 0; // the lease was lost again meanwhile
      }
    }
    if (unsure) {
      reconcile(worker);
      unsure = false;
    }
    int room;
    int ready;
    lock.lock();
    try {
      room = queue.state.claimable() - books.unwritten();
      ready = queue.state.readyCount();
    } finally {
      lock.unlock();
    }
    if (room <= 0 || (saturated && !worthClaiming(room, ready))) {
      // Every permit is taken (or too few are free to be worth a claim). Say so before looking
      // again: a permit freed before the second look is seen here, one freed after it wakes us.
      saturated = true;
      lock.lock();
      try {
        room = queue.state.claimable() - books.unwritten();
        ready = queue.state.readyCount();
      } finally {
        lock.unlock();
      }
      return worthClaiming(room, ready) ? 0 : pollNanos;
    }
    long began = System.nanoTime();
    List<Claimed> got = backend.claim(queue.name(), handlerVersions, worker, room);
    if (got == null) {
      keeper().loseLease(worker, "its lease had expired at a claim");
      return 0;
    }
    meters.claimed(got.size(), System.nanoTime() - began);
    Flusher f = flusher;
    if (f != null) {
      f.awaitPublished(got); // a retry claimed again: its onRetryScheduled first
    }
    file(got, worker, gen);
    saturated = got.size() == room;
    if (saturated) {
      return 0; // claim again as soon as permits allow
    }
    long waitNanos = pollNanos;
    Duration next = backend.nextDue(queue.name(), handlerVersions);
    if (next != null) {
      waitNanos = Math.min(waitNanos, Math.max(1, next.toNanos()));
    }
    linger = got.isEmpty() ? Math.max(0, linger - 1) : LINGER_ROUNDS;
    if (linger > 0) {
      waitNanos = Math.min(waitNanos, TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS));
    }
    return waitNanos;
  }

  @Override
  void failed(Exception e) {
    unsure = worker != 0;
  }

  private LeaseKeeper keeper() {
    LeaseKeeper k = keeper;
    if (k == null) {
      throw new IllegalStateException("the claimer started before its keeper was set");
    }
    return k;
  }

  private long register(long gen) throws Exception {
    long w = backend.register(queue.name(), handlerVersions);
    try {
      backend.describe(w, concurrency);
    } catch (Exception e) {
      // Only an operator's list of workers reads it: a worker whose description failed still works,
      // and shows no host, pid or concurrency. The next claim meets any real outage.
    }
    lock.lock();
    try {
      if (!closed() && books.registered(w, gen)) {
        return w;
      }
    } finally {
      lock.unlock();
    }
    backend.deregister(w);
    return 0;
  }

  /**
   * After a failed claim: the store's running tasks of this worker that it does not know (claimed by
   * a claim whose answer was lost) go back to ready, their attempt given back. Read the store first,
   * then what is known: a task that ends in between is known, or its release is fenced out.
   */
  private void reconcile(long w) throws Exception {
    List<Long> running = backend.running(w);
    List<Long> unknown = new ArrayList<>();
    lock.lock();
    try {
      Set<Long> known = books.known();
      for (long id : running) {
        if (!known.contains(id)) {
          unknown.add(id);
        }
      }
    } finally {
      lock.unlock();
    }
    if (!unknown.isEmpty()) {
      log.warn("queue '{}': releasing {} task(s) claimed by a claim whose answer was lost: {}",
          queue.name(), unknown.size(), unknown);
      backend.release(w, unknown);
    }
  }

  /** Makes tasks of the claimed rows and files them; releases them if the queue closed meanwhile. */
  private void file(List<Claimed> got, long w, long gen) throws Exception {
    if (got.isEmpty()) {
      return;
    }
    List<TaskCore<?>> tasks = new ArrayList<>(got.size());
    long[] deadlineNanos = new long[got.size()];
    Instant now = null;
    for (int i = 0; i < got.size(); i++) {
      Claimed c = got.get(i);
      tasks.add(restored.task(c));
      deadlineNanos[i] = -1;
      if (c.deadline() != null) {
        if (now == null) {
          now = queue.clock.instant();
        }
        deadlineNanos[i] = Math.max(0, Timers.nanos(Duration.between(now, c.deadline())));
      }
    }
    boolean filed = false;
    for (TaskCore<?> t : tasks) {
      queue.publisher.hold(t); // Enqueued before any event of an attempt (see Publisher.hold)
    }
    try {
      lock.lock();
      try {
        if (books.current(w, gen)) {
          books.claimed(tasks);
          filed = queue.state.arrive(queue, tasks, deadlineNanos);
          if (!filed) {
            books.unclaimed(tasks);
          }
        }
      } finally {
        lock.unlock();
      }
      if (filed) {
        for (TaskCore<?> t : tasks) {
          queue.publisher.enqueued(t); // arrived in this process: its onEnqueued, as an accepted task's
        }
        return;
      }
    } finally {
      for (TaskCore<?> t : tasks) {
        queue.publisher.dropHold(t);
      }
    }
    // The queue stopped accepting, or the lease was lost, during the claim.
    List<Long> ids = new ArrayList<>(got.size());
    for (Claimed c : got) {
      ids.add(c.id());
    }
    backend.release(w, ids);
  }
}
