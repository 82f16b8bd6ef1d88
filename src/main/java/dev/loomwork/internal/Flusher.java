package dev.loomwork.internal;

import dev.loomwork.internal.DurableBackend.Ending;
import dev.loomwork.internal.DurableBackend.Outcome;
import dev.loomwork.internal.DurableBooks.Batch;
import dev.loomwork.internal.DurableBooks.Pending;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
