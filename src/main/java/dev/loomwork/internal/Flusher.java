package dev.loomwork.internal;

import dev.loomwork.internal.DurableBackend.Claimed;
import dev.loomwork.internal.DurableBackend.Ending;
import dev.loomwork.internal.DurableBackend.Outcome;
import dev.loomwork.internal.DurableBooks.Batch;
import dev.loomwork.internal.DurableBooks.Pending;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;

/**
 * The flush loop of a durable queue, river's batch completer: every {@value #MILLIS} ms, or at once
 * when {@value #BATCH} outcomes are filed (or the claimer's batch while the store has a backlog),
 * takes the filed outcomes and releases out of the books (one hold of the queue's lock), writes them
 * fenced on this worker and each attempt, and publishes the tasks whose outcomes the store applied,
 * in the order they ended. What fails is put back in front for the next turn; what belongs to a
 * lease that was lost is dropped (the store fences it anyway).
 */
final class Flusher extends StoreLoop {
  private static final Logger log = Log.LOG;
  static final int MILLIS = 10;
  static final int BATCH = 100;

  private final QueueEngine queue;
  private final DurableBackend backend;
  private final DurableBooks books;
  private final ReentrantLock lock;
  private final Claimer claimer;
  private final StoreMeters meters;

  /**
   * The store ids of the retries this flusher is writing and has not yet published. A retry with no
   * backoff left is claimable from the moment its write commits, so this process's claimer can
   * claim it again before the flusher has published its {@code onRetryScheduled}; the claimer checks
   * this set (see {@link #awaitPublished}). Filled before the write, emptied after the publication.
   */
  private final Set<Long> retrying = ConcurrentHashMap.newKeySet();

  /** Held by the flusher from before a write that holds retries until their events are published. */
  private final ReentrantLock publishing = new ReentrantLock();

  Flusher(
      QueueEngine queue,
      DurableBackend backend,
      DurableBooks books,
      ReentrantLock lock,
      Claimer claimer,
      Outage outage,
      StoreMeters meters) {
    super("flusher", outage, meters);
    this.queue = queue;
    this.backend = backend;
    this.books = books;
    this.lock = lock;
    this.claimer = claimer;
    this.meters = meters;
  }

  @Override
  long turn() throws Exception {
    flush();
    return TimeUnit.MILLISECONDS.toNanos(MILLIS);
  }

  /** The owner, after the loops stopped: one more flush, whose failure is logged once. */
  void last() {
    try {
      flush();
    } catch (Exception e) {
      log.warn("queue '{}': could not write the last outcomes; the rescuer runs their tasks again ({})",
          queue.name(), Outage.cause(e));
    }
  }

  private void flush() throws Exception {
    Batch b;
    lock.lock();
    try {
      b = books.take();
    } finally {
      lock.unlock();
    }
    if (b == null) {
      return;
    }
    boolean written = false;
    try {
      write(b);
      written = true;
    } finally {
      lock.lock();
      try {
        books.flushed(b, !written);
      } finally {
        lock.unlock();
      }
      if (claimer.saturated()) {
        claimer.wake(); // what was written no longer counts against the permits
      }
    }
  }

  private void write(Batch b) throws Exception {
    long w = b.worker;
    if (w == 0) {
      return; // lost with the lease: another worker runs these tasks now
    }
    if (!b.releases.isEmpty()) {
      backend.release(w, b.releases);
      meters.released(b.releases.size());
      b.releases = List.of();
    }
    if (b.outcomes.isEmpty()) {
      return;
    }
    List<Outcome> batch = new ArrayList<>(b.outcomes.size());
    for (Pending p : b.outcomes) {
      batch.add(p.outcome());
    }
    List<Long> retries = new ArrayList<>();
    for (Outcome o : batch) {
      if (o.ending() == Ending.RETRY) {
        retries.add(o.id());
      }
    }
    if (!retries.isEmpty()) {
      publishing.lock();
      retrying.addAll(retries);
    }
    try {
      long began = System.nanoTime();
      List<Long> fenced = backend.complete(w, batch);
      count(batch, fenced.size(), System.nanoTime() - began);
      if (!fenced.isEmpty()) {
        log.warn(
            "queue '{}': {} outcome(s) were fenced out (their tasks were rescued meanwhile, since"
                + " this worker's lease had expired) and change nothing: task ids {}",
            queue.name(), fenced.size(), fenced);
      }
      publish(b.outcomes, fenced);
    } finally {
      if (!retries.isEmpty()) {
        retrying.removeAll(retries);
        publishing.unlock();
      }
    }
  }

  /**
   * Called by the claimer with what it just claimed, before it files the tasks: if one of them is a
   * retry that this flusher wrote and has not published yet, waits until it has, so that a task's
   * {@code onRetryScheduled} always comes before the {@code onEnqueued} of its next claim here. The
   * wait is one write and its publication at most, and only for such a task: the flusher never
   * waits for the claimer.
   */
  void awaitPublished(List<Claimed> claimed) {
    if (retrying.isEmpty()) {
      return;
    }
    for (Claimed c : claimed) {
      if (retrying.contains(c.id())) {
        publishing.lock(); // the flusher holds it until the retry's event is out
        publishing.unlock();
        return;
      }
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
    Set<Long> out = fenced.isEmpty() ? Set.of() : new HashSet<>(fenced);
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
}
