package dev.loomwork.internal;

import dev.loomwork.RetryPolicy;
import dev.loomwork.TaskState;
import dev.loomwork.TaskType;
import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.internal.DurableBackend.Ending;
import dev.loomwork.internal.DurableBackend.Listening;
import dev.loomwork.internal.DurableBackend.Outcome;
import dev.loomwork.internal.DurableBackend.Settings;
import dev.loomwork.internal.Verdict.Fate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The engine's side of a durable queue: where its tasks come from and where their outcomes go.
 * Everything here that touches the store runs on the queue's own virtual threads, outside the
 * queue's lock; the scheduler thread never waits on the network.
 *
 * <ul>
 *   <li><b>The claimer</b> registers the worker, then claims at most as many due tasks as the queue
 *       has free permits ({@link QueueState#claimable}), and files them as ready tasks of this
 *       process ({@link QueueState#admitClaimed}); the dispatcher runs them like any other. It claims
 *       when woken (a notification, a freed permit while the store had more, a timer to the next due
 *       task) or every poll interval.
 *   <li><b>The flusher</b> writes outcomes in batches, every {@value #FLUSH_MILLIS} ms or {@value
 *       #FLUSH_BATCH} outcomes (or half the concurrency, up to 50, while the store has a backlog:
 *       outcomes not yet written count against the free permits, so that the worker never holds
 *       more running rows than its concurrency), fenced on this worker and each attempt; an outcome fenced out is
 *       logged, never published as the task's.
 *   <li><b>The keeper of the lease</b> renews it, cuts attempts whose cancel was requested, runs the
 *       rescuer and the pruning (behind the store's locks, so one process at a time does). A lease
 *       that is gone, or that could not be renewed for a whole lease, is lost: the queue cuts every
 *       attempt of it, drops their outcomes and registers again.
 *   <li><b>The listener</b> holds one connection subscribed to the queue's wake-ups, unless the
 *       store polls only.
 * </ul>
 *
 * Lock order: the queue's lock, then {@link #books} (outcomes are filed under the queue's lock).
 */
final class DurableSource {
  private static final Logger log = Log.LOG;

  static final int FLUSH_MILLIS = 10;
  static final int FLUSH_BATCH = 100;
  private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  /** How often the store's counts by state are read for the meters. */
  private static final long COUNT_NANOS = TimeUnit.SECONDS.toNanos(15);
  /**
   * After a claim that found tasks, claim again this often for {@value #LINGER_ROUNDS} rounds: a
   * producer's NOTIFY is debounced, and the trailing one may arrive before a transaction that
   * enqueued more commits, which would otherwise wait for the poll.
   */
  private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final int LINGER_ROUNDS = 5;

  private final QueueEngine queue;
  private final DurableBackend backend;
  private final Settings settings;
  private final Handlers handlers;
  private final Set<String> handlerNames;
  private final RetryPolicy queueDefault;
  private final StoreMeters meters;

  private final Semaphore claimWake = new Semaphore(0);
  private final Semaphore flushWake = new Semaphore(0);
  private final Semaphore keeperWake = new Semaphore(0);
  private final Semaphore listenerWake = new Semaphore(0);
  private volatile boolean closed;
  /** Whether the last claim took all it asked for: the store may have more, so a freed permit wakes the claimer. */
  private volatile boolean saturated;
  /**
   * Outcomes and releases not yet written: their tasks still run in the store's eyes, so they count
   * against the free permits, which bounds the worker's running rows (and what a crash runs again)
   * to about its concurrency and one flush. Set under {@link #books} at every change.
   */
  private final AtomicInteger unwritten = new AtomicInteger();
  /** In saturation, claim only this many permits at once (or whatever is free once nothing is ready). */
  private final int batch;
  private volatile @Nullable Listening listening;
  private final List<Thread> threads = new ArrayList<>();

  // ---- guarded by books ----
  private final ReentrantLock books = new ReentrantLock();
  /** The worker's id, 0 while it has none (not yet registered, or its lease was lost). */
  private long worker;
  /** Bumped at each lost lease: a claim made under an older generation is not filed. */
  private long generation;
  private List<Pending> outcomes = new ArrayList<>();
  private List<Long> releases = new ArrayList<>();
  /** The outcomes and releases a flush is writing now. */
  private List<Pending> writing = List.of();
  private List<Long> releasing = List.of();
  /** The running tasks claimed by this worker, for cancels requested through the store. */
  private final Map<Long, TaskCore<?>> claimed = new HashMap<>();

  DurableSource(
      QueueEngine queue,
      DurableBackend backend,
      Handlers handlers,
      RetryPolicy queueDefault,
      StoreMeters meters) {
    this.meters = meters;
    this.queue = queue;
    this.backend = backend;
    this.settings = backend.settings();
    this.handlers = handlers;
    this.handlerNames = handlers.names();
    this.queueDefault = queueDefault;
    this.batch = Math.max(1, Math.min(queue.state.concurrency(), 100) / 2);
  }

  // ---- the lifecycle, on the owner's thread ----

  /** Starts the claimer, the flusher, the keeper of the lease and the listener. */
  void start() {
    String name = queue.name();
    threads.add(Thread.ofVirtual().name("loomwork-" + name + "-claimer").start(this::claimLoop));
    threads.add(Thread.ofVirtual().name("loomwork-" + name + "-flusher").start(this::flushLoop));
    threads.add(Thread.ofVirtual().name("loomwork-" + name + "-lease").start(this::keeperLoop));
    if (!settings.pollOnly()) {
      threads.add(Thread.ofVirtual().name("loomwork-" + name + "-listener").start(this::listenLoop));
    }
  }

  /**
   * The owner, once every attempt has ended: stops the loops, writes the last outcomes and
   * releases, and deletes the worker's row, so that another process takes what this one released
   * at once. A task still running here (abandoned) is the rescuer's.
   */
  void close() {
    closed = true;
    claimWake.release();
    flushWake.release();
    keeperWake.release();
    listenerWake.release();
    Listening l = listening;
    if (l != null) {
      l.close();
    }
    boolean interrupted = false;
    for (Thread t : threads) {
      while (true) {
        try {
          t.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    flush(); // the flusher's last turn may have failed: one more try
    long w;
    books.lock();
    try {
      w = worker;
      worker = 0;
    } finally {
      books.unlock();
    }
    if (w != 0) {
      try {
        backend.deregister(w);
      } catch (Exception e) {
        log.warn("queue '{}': could not delete worker {}; its lease expires by itself", queue.name(), w, e);
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- the queue's books call these, under the queue's lock ----

  /** An outcome waiting to be written, and published once it is. */
  private record Pending(TaskCore<?> task, Outcome outcome, @Nullable Instant retryAt) {}

  /**
   * Files an attempt's outcome for the next flush. The task is published (its terminal event, or
   * its retry's) only once the store applied the outcome: one fenced out is never the task's.
   */
  void outcome(TaskCore<?> t, Fate fate, long retryDelayNanos, @Nullable Instant retryAt) {
    assert t.state() != TaskState.RUNNING && t.state() != TaskState.NEW
        : "task " + t.name() + " filed for its store while " + t.state() + ": the flusher publishes it";
    Ending ending =
        switch (fate) {
          case SUCCEEDED -> Ending.SUCCEEDED;
          case FAILED -> Ending.FAILED;
          case CANCELLED -> Ending.CANCELLED;
          case RETRY -> Ending.RETRY;
          case RELEASED -> throw new AssertionError(fate);
        };
    Outcome o =
        new Outcome(t.storeId, t.storeAttempt, ending, Duration.ofNanos(retryDelayNanos), t.error());
    int size;
    books.lock();
    try {
      claimed.remove(t.storeId);
      outcomes.add(new Pending(t, o, retryAt));
      size = outcomes.size();
      recount();
    } finally {
      books.unlock();
    }
    // A full batch goes at once; so do enough outcomes to be worth a claim while the store has a
    // backlog, since unwritten outcomes count against the permits.
    if (size == FLUSH_BATCH || (size == batch && saturated)) {
      flushWake.release();
    }
  }

  /** Files a task for release: back to ready in the store, its attempt given back. */
  void release(TaskCore<?> t) {
    books.lock();
    try {
      claimed.remove(t.storeId);
      releases.add(t.storeId);
      recount();
    } finally {
      books.unlock();
    }
    flushWake.release();
  }

  /** Under {@link #books}: counts what is not yet written. */
  private void recount() {
    unwritten.set(outcomes.size() + releases.size() + writing.size() + releasing.size());
  }

  /**
   * Under the queue's lock, when a permit was freed: if the store may have more due tasks, wake the
   * claimer once a claim is worth it.
   *
   * @param free the free permits less the claimed tasks waiting for one
   * @param ready the claimed tasks waiting for a permit
   */
  void permitFreed(int free, int ready) {
    if (saturated && worthClaiming(free - unwritten.get(), ready)) {
      claimWake.release();
    }
  }

  /**
   * With a backlog in the store: claim in batches of about {@link #batch} (a claim is a commit), but
   * never let the dispatcher run dry while permits are free.
   */
  private boolean worthClaiming(int free, int ready) {
    return free >= batch || (free > 0 && ready == 0);
  }

  // ---- the claimer ----

  private void claimLoop() {
    long w = 0;
    long gen = -1;
    boolean unsure = false; // a claim failed: it may have claimed rows whose answer was lost
    int linger = 0;
    while (!closed) {
      long waitNanos = settings.pollInterval().toNanos();
      try {
        books.lock();
        try {
          w = worker;
          gen = generation;
        } finally {
          books.unlock();
        }
        if (w == 0) {
          w = register(gen);
          if (w == 0) {
            continue; // the lease was lost again meanwhile
          }
        }
        if (unsure) {
          reconcile(w);
          unsure = false;
        }
        int n = queue.state.claimable() - unwritten.get();
        if (n > 0 && (!saturated || worthClaiming(n, queue.state.readyCount()))) {
          long began = System.nanoTime();
          List<Claimed> got = backend.claim(queue.name(), handlerNames, w, n);
          if (got != null) {
            meters.claimed(got.size(), System.nanoTime() - began);
          }
          if (got == null) {
            loseLease(w, "its lease had expired at a claim");
            continue;
          }
          file(got, w, gen);
          saturated = got.size() == n;
          if (saturated) {
            continue; // claim again as soon as permits allow
          }
          Duration next = backend.nextDue(queue.name(), handlerNames);
          if (next != null) {
            waitNanos = Math.min(waitNanos, Math.max(1, next.toNanos()));
          }
          linger = got.isEmpty() ? Math.max(0, linger - 1) : LINGER_ROUNDS;
          if (linger > 0) {
            waitNanos = Math.min(waitNanos, LINGER_NANOS);
          }
        } else {
          // Every permit is taken (or too few are free to be worth a claim). A wake-up that came
          // meanwhile may mean work in the store: a freed permit or a flush wakes us to claim. Say
          // so before looking again, so that a permit freed in between is seen here or there.
          saturated = true;
          if (worthClaiming(queue.state.claimable() - unwritten.get(), queue.state.readyCount())) {
            continue;
          }
        }
      } catch (Exception e) {
        if (closed) {
          break;
        }
        log.warn("queue '{}': a claim failed; trying again", queue.name(), e);
        unsure = w != 0;
        waitNanos = RETRY_NANOS;
      }
      await(claimWake, waitNanos);
    }
  }

  /**
   * After a failed claim: the store's running tasks of this worker that it does not know (claimed by
   * a claim whose answer was lost) go back to ready, their attempt given back. Read the store first,
   * then what is known: a task that ends in between is known, or its release is fenced out.
   */
  private void reconcile(long w) throws Exception {
    List<Long> running = backend.running(w);
    List<Long> unknown = new ArrayList<>();
    books.lock();
    try {
      Set<Long> known = new java.util.HashSet<>(claimed.keySet());
      for (List<Pending> ps : List.of(outcomes, writing)) {
        for (Pending p : ps) {
          known.add(p.outcome().id());
        }
      }
      known.addAll(releases);
      known.addAll(releasing);
      for (long id : running) {
        if (!known.contains(id)) {
          unknown.add(id);
        }
      }
    } finally {
      books.unlock();
    }
    if (!unknown.isEmpty()) {
      log.warn("queue '{}': releasing {} task(s) claimed by a claim whose answer was lost: {}",
          queue.name(), unknown.size(), unknown);
      backend.release(w, unknown);
    }
  }

  private long register(long gen) throws Exception {
    long w = backend.register(queue.name());
    books.lock();
    try {
      if (generation == gen && worker == 0 && !closed) {
        worker = w;
        return w;
      }
    } finally {
      books.unlock();
    }
    backend.deregister(w);
    return 0;
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
      tasks.add(task(c));
      deadlineNanos[i] = -1;
      if (c.deadline() != null) {
        if (now == null) {
          now = queue.clock.instant();
        }
        deadlineNanos[i] = Math.max(0, Timers.nanos(Duration.between(now, c.deadline())));
      }
    }
    boolean current;
    books.lock();
    try {
      current = generation == gen && worker == w;
      if (current) {
        for (TaskCore<?> t : tasks) {
          claimed.put(t.storeId, t);
        }
      }
    } finally {
      books.unlock();
    }
    if (current && queue.state.admitClaimed(queue, tasks, deadlineNanos)) {
      return;
    }
    books.lock();
    try {
      for (TaskCore<?> t : tasks) {
        claimed.remove(t.storeId);
      }
    } finally {
      books.unlock();
    }
    List<Long> ids = new ArrayList<>(got.size());
    for (Claimed c : got) {
      ids.add(c.id());
    }
    backend.release(w, ids); // the queue stopped accepting, or the lease was lost, during the claim
  }

  /** A task of this process for a claimed row: its handler's type, retries from the row. */
  private TaskCore<?> task(Claimed c) {
    TaskCore<?> t = Access.core(Access.restored(c.handler(), c.payloadJson(), Long.toString(c.id())));
    t.name(c.name() != null ? c.name() : c.handler() + "#" + c.id()); // the number here is no name
    TaskType<?> type = handlers.type(c.handler());
    RetryPolicy p = type != null && type.retryPolicy() != null ? type.retryPolicy() : queueDefault;
    if (type != null && type.attemptTimeout() != null && type.retryPolicy() == null) {
      p = p.withAttemptTimeout(type.attemptTimeout());
    }
    t.retryPolicy(p.withRetries(Math.max(0, c.maxAttempts() - 1)));
    t.resolve(queueDefault, null);
    t.deadline(c.deadline());
    handlers.bind(t, queue.name());
    t.storeId = c.id();
    t.storeAttempt = c.attempt();
    t.scheduledAt = ScheduleStore.scheduledAt(c.uniqueKey()); // a recurring task's tick, or null
    t.attempts = c.attempt() - 1;
    return t;
  }

  // ---- the flusher ----

  private void flushLoop() {
    while (!closed) {
      await(flushWake, TimeUnit.MILLISECONDS.toNanos(FLUSH_MILLIS));
      if (!flush()) {
        await(flushWake, RETRY_NANOS);
      }
    }
  }

  /**
   * Writes the outcomes and releases filed so far. What fails is filed again for the next turn; what
   * belongs to a lease that was lost is dropped (the store fences it anyway).
   *
   * @return false if the store could not be reached
   */
  private boolean flush() {
    List<Pending> os;
    List<Long> rs;
    long w;
    books.lock();
    try {
      if (outcomes.isEmpty() && releases.isEmpty()) {
        return true;
      }
      os = outcomes;
      rs = releases;
      outcomes = new ArrayList<>();
      releases = new ArrayList<>();
      writing = os;
      releasing = rs;
      recount();
      w = worker;
    } finally {
      books.unlock();
    }
    try {
      return write(os, rs, w);
    } finally {
      books.lock();
      try {
        writing = List.of();
        releasing = List.of();
        recount();
      } finally {
        books.unlock();
      }
      if (saturated) {
        claimWake.release(); // what was written no longer counts against the permits
      }
    }
  }

  private boolean write(List<Pending> os, List<Long> rs, long w) {
    if (w == 0) {
      return true; // lost with the lease: another worker runs these tasks now
    }
    try {
      if (!rs.isEmpty()) {
        backend.release(w, rs);
        meters.released(rs.size());
        rs = List.of();
      }
      if (!os.isEmpty()) {
        List<Outcome> batch = new ArrayList<>(os.size());
        for (Pending p : os) {
          batch.add(p.outcome());
        }
        long began = System.nanoTime();
        List<Long> fenced = backend.complete(w, batch);
        count(batch, fenced.size(), System.nanoTime() - began);
        if (!fenced.isEmpty()) {
          log.warn(
              "queue '{}': {} outcome(s) were fenced out (their tasks were rescued meanwhile, since"
                  + " this worker's lease had expired) and change nothing: task ids {}",
              queue.name(), fenced.size(), fenced);
        }
        publish(os, fenced);
      }
      return true;
    } catch (Exception e) {
      log.warn("queue '{}': could not write {} outcome(s); trying again", queue.name(), os.size() + rs.size(), e);
      books.lock();
      try {
        if (worker == w) {
          os.addAll(outcomes);
          outcomes = os;
          rs = new ArrayList<>(rs);
          rs.addAll(releases);
          releases = rs;
          recount();
        }
      } finally {
        books.unlock();
      }
      return false;
    }
  }

  private void count(List<Outcome> batch, int fenced, long nanos) {
    int[] by = new int[Ending.values().length];
    for (Outcome o : batch) {
      by[o.ending().ordinal()]++;
    }
    meters.flushed(
        by[Ending.SUCCEEDED.ordinal()], by[Ending.FAILED.ordinal()], by[Ending.RETRY.ordinal()],
        by[Ending.CANCELLED.ordinal()], fenced, nanos);
  }

  /** Publishes the tasks whose outcomes the store applied, in the order they ended. */
  private void publish(List<Pending> written, List<Long> fenced) {
    Set<Long> out = fenced.isEmpty() ? Set.of() : new java.util.HashSet<>(fenced);
    Publisher publisher = queue.publisher;
    for (Pending p : written) {
      TaskCore<?> t = p.task();
      if (out.contains(t.storeId)) {
        continue;
      }
      try {
        if (p.outcome().ending() == Ending.RETRY) {
          Throwable error = p.outcome().error();
          Instant at = p.retryAt();
          if (error != null && at != null) {
            publisher.retryScheduled(t, p.outcome().attempt(), error, at);
          }
        } else {
          publisher.publish(t);
        }
      } catch (Throwable e) { // the flusher must go on: every later outcome depends on it
        log.error("queue '{}': publishing task '{}' failed", queue.name(), t.name(), e);
      }
    }
  }

  // ---- the keeper of the lease ----

  private void keeperLoop() {
    long now = System.nanoTime();
    long renewed = now;
    long nextBeat = now + settings.heartbeat().toNanos();
    long nextRescue = now;
    long nextPrune = now + settings.pruneInterval().toNanos();
    long nextCount = meters == StoreMeters.NONE ? Long.MAX_VALUE : now;
    while (!closed) {
      now = System.nanoTime();
      long w = currentWorker();
      if (w == 0) {
        renewed = now;
      } else if (now - nextBeat >= 0) {
        nextBeat = now + settings.heartbeat().toNanos();
        try {
          if (!backend.heartbeat(w)) {
            loseLease(w, "its row was gone at a heartbeat (it was rescued)");
          } else {
            renewed = now;
            cutCancelled(w);
          }
        } catch (Exception e) {
          log.warn("queue '{}': a heartbeat failed", queue.name(), e);
          if (now - renewed >= settings.lease().toNanos()) {
            loseLease(w, "it could not renew its lease for " + settings.lease());
            renewed = now;
          }
        }
      }
      if (now - nextRescue >= 0) {
        nextRescue = now + settings.rescueInterval().toNanos();
        try {
          int rescued = backend.rescue();
          if (rescued > 0) {
            meters.rescued(rescued);
            claimWake.release();
          }
        } catch (Exception e) {
          log.warn("queue '{}': the rescuer failed", queue.name(), e);
        }
      }
      if (now - nextPrune >= 0) {
        nextPrune = now + settings.pruneInterval().toNanos();
        try {
          backend.prune();
        } catch (Exception e) {
          log.warn("queue '{}': pruning ended tasks failed", queue.name(), e);
        }
      }
      if (nextCount != Long.MAX_VALUE && now - nextCount >= 0) {
        nextCount = now + COUNT_NANOS;
        try {
          meters.counts(backend.counts(queue.name()));
        } catch (Exception e) {
          log.debug("queue '{}': could not count the store's tasks", queue.name(), e);
        }
      }
      long wait = Math.min(Math.min(nextBeat, nextCount), Math.min(nextRescue, nextPrune)) - System.nanoTime();
      await(keeperWake, Math.max(1, wait));
    }
  }

  private long currentWorker() {
    books.lock();
    try {
      return worker;
    } finally {
      books.unlock();
    }
  }

  /** Cuts the running attempts whose cancel another process requested. */
  private void cutCancelled(long w) throws Exception {
    List<Long> ids = backend.cancelRequested(w);
    for (long id : ids) {
      TaskCore<?> t;
      books.lock();
      try {
        t = claimed.get(id);
      } finally {
        books.unlock();
      }
      if (t != null) {
        queue.cancel(t);
      }
    }
  }

  /**
   * The worker lost its lease: it forgets its id (the claimer registers again), drops the outcomes
   * not yet written, and cuts every attempt of it; none of them writes or publishes anything.
   */
  private void loseLease(long w, String why) {
    books.lock();
    try {
      if (worker != w) {
        return; // already lost
      }
      worker = 0;
      generation++;
      outcomes = new ArrayList<>();
      releases = new ArrayList<>();
      claimed.clear();
      recount();
    } finally {
      books.unlock();
    }
    meters.leaseLost();
    log.warn("queue '{}': worker {} lost its lease ({}); cutting its attempts and registering again",
        queue.name(), w, why);
    for (Attempt a : queue.state.loseLease()) {
      a.interrupt();
    }
    claimWake.release();
  }

  // ---- the listener ----

  private void listenLoop() {
    while (!closed) {
      try (Listening l = backend.listen(queue.name())) {
        listening = l;
        if (closed) {
          break;
        }
        claimWake.release(); // wake-ups sent while nobody listened are lost: claim once
        while (!closed) {
          if (l.await(Duration.ofMillis(250))) {
            meters.notified();
            claimWake.release();
          }
        }
      } catch (Exception e) {
        if (closed) {
          break;
        }
        log.warn("queue '{}': the LISTEN connection failed; subscribing again", queue.name(), e);
        await(listenerWake, RETRY_NANOS);
      } finally {
        listening = null;
      }
    }
  }

  /** Waits for a wake-up or {@code nanos}, then takes every wake-up that came. */
  private static void await(Semaphore wake, long nanos) {
    try {
      if (nanos == Long.MAX_VALUE) {
        wake.acquire();
      } else {
        wake.tryAcquire(nanos, TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    wake.drainPermits();
  }
}
