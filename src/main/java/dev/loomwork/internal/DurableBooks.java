package dev.loomwork.internal;

import dev.loomwork.internal.DurableBackend.Ending;
import dev.loomwork.internal.DurableBackend.Outcome;
import dev.loomwork.internal.Verdict.Fate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The ledger of a durable queue: who this worker is in the store, the tasks it claimed that still
 * run, and the outcomes and releases not yet written. No I/O and no threads: the loops read and
 * change it, and do their I/O outside the lock.
 *
 * <p><b>Guarded by the queue's lock</b>, as {@link MemoryStore} is; every method asserts it. So the
 * claimer's arithmetic is exact: in one hold it reads the free permits, the ready tasks and {@link
 * #unwritten}, and a permit freed by an attempt's end and that attempt's outcome, filed here, change
 * together (an unwritten outcome's task still runs in the store's eyes: counting it against the
 * permits bounds the worker's running rows, and what a crash runs again, to its concurrency and
 * one flush).
 *
 * <p><b>Generations.</b> A lost lease forgets the worker and bumps the generation: a claim made under
 * an older one is not filed, and the outcomes of the lost worker are dropped (the store would fence
 * them out anyway).
 */
final class DurableBooks {
  /** An outcome waiting to be written, and published once it is. */
  record Pending(TaskCore<?> task, Outcome outcome, @Nullable Instant retryAt) {}

  /** What one flush writes: taken out of the books in one hold, put back if the write fails. */
  static final class Batch {
    final List<Pending> outcomes;
    /** Emptied once written, so that a failure after the releases does not write them twice. */
    List<Long> releases;
    final long worker;

    Batch(List<Pending> outcomes, List<Long> releases, long worker) {
      this.outcomes = outcomes;
      this.releases = releases;
      this.worker = worker;
    }
  }

  private final ReentrantLock lock;
  /** The worker's id, 0 while it has none (not yet registered, or its lease was lost). */
  private long worker;
  private long generation;
  private List<Pending> outcomes = new ArrayList<>();
  private List<Long> releases = new ArrayList<>();
  /** What a flush is writing now (still unwritten), or null. */
  private @Nullable Batch writing;
  /** The tasks claimed by this worker that run or wait here, for cancels requested through the store. */
  private final Map<Long, TaskCore<?>> claimed = new HashMap<>();

  /** @param lock the queue's lock */
  DurableBooks(ReentrantLock lock) {
    this.lock = lock;
  }

  long worker() {
    assert lock.isHeldByCurrentThread();
    return worker;
  }

  long generation() {
    assert lock.isHeldByCurrentThread();
    return generation;
  }

  /** Whether {@code w} of generation {@code gen} is still this worker. */
  boolean current(long w, long gen) {
    assert lock.isHeldByCurrentThread();
    return w != 0 && worker == w && generation == gen;
  }

  /**
   * Takes a registered worker id as this worker's, unless the lease was lost again meanwhile (another
   * generation) or a worker is already set.
   */
  boolean registered(long w, long gen) {
    assert lock.isHeldByCurrentThread();
    if (generation != gen || worker != 0) {
      return false;
    }
    worker = w;
    return true;
  }

  /** Outcomes and releases not yet written, those being written included. */
  int unwritten() {
    assert lock.isHeldByCurrentThread();
    Batch w = writing;
    return outcomes.size() + releases.size() + (w == null ? 0 : w.outcomes.size() + w.releases.size());
  }

  /**
   * Outcomes of {@code ending} not yet written, those being written included: until the store applied
   * them, the queue's counts do not call them ended.
   */
  int unwritten(Ending ending) {
    assert lock.isHeldByCurrentThread();
    int n = 0;
    for (Pending p : outcomes) {
      if (p.outcome().ending() == ending) {
        n++;
      }
    }
    Batch w = writing;
    if (w != null) {
      for (Pending p : w.outcomes) {
        if (p.outcome().ending() == ending) {
          n++;
        }
      }
    }
    return n;
  }

  /** Outcomes filed and not yet taken by a flush. */
  int filed() {
    assert lock.isHeldByCurrentThread();
    return outcomes.size();
  }

  void claimed(List<TaskCore<?>> tasks) {
    assert lock.isHeldByCurrentThread();
    for (TaskCore<?> t : tasks) {
      claimed.put(t.storeId, t);
    }
  }

  void unclaimed(List<TaskCore<?>> tasks) {
    assert lock.isHeldByCurrentThread();
    for (TaskCore<?> t : tasks) {
      claimed.remove(t.storeId);
    }
  }

  @Nullable TaskCore<?> claimedTask(long id) {
    assert lock.isHeldByCurrentThread();
    return claimed.get(id);
  }

  /**
   * Files an attempt's outcome for the next flush. The flusher takes it under the same lock, so the
   * task's state, set in the same hold, is final before anyone publishes it.
   */
  void outcome(TaskCore<?> t, Fate fate, long retryDelayNanos, @Nullable Instant retryAt) {
    assert lock.isHeldByCurrentThread();
    Ending ending =
        switch (fate) {
          case SUCCEEDED -> Ending.SUCCEEDED;
          case FAILED -> Ending.FAILED;
          case CANCELLED -> Ending.CANCELLED;
          case RETRY -> Ending.RETRY;
          case RELEASED -> throw new AssertionError(fate);
        };
    claimed.remove(t.storeId);
    outcomes.add(new Pending(
        t, new Outcome(t.storeId, t.storeAttempt, ending, Duration.ofNanos(retryDelayNanos), t.error()),
        retryAt));
  }

  /** Files a task for release: back to ready in the store, its attempt given back. */
  void release(TaskCore<?> t) {
    assert lock.isHeldByCurrentThread();
    claimed.remove(t.storeId);
    releases.add(t.storeId);
  }

  /** Takes what a flush writes; null if nothing is filed. */
  @Nullable Batch take() {
    assert lock.isHeldByCurrentThread();
    if (outcomes.isEmpty() && releases.isEmpty()) {
      return null;
    }
    Batch b = new Batch(outcomes, releases, worker);
    writing = b;
    outcomes = new ArrayList<>();
    releases = new ArrayList<>();
    return b;
  }

  /** A flush is over: {@code failed} puts its batch back in front, unless the lease was lost meanwhile. */
  void flushed(Batch b, boolean failed) {
    assert lock.isHeldByCurrentThread();
    writing = null;
    if (failed && b.worker != 0 && b.worker == worker) {
      b.outcomes.addAll(outcomes);
      outcomes = b.outcomes;
      List<Long> rs = new ArrayList<>(b.releases);
      rs.addAll(releases);
      releases = rs;
    }
  }

  /**
   * Every task id this worker knows it holds: claimed, or with an outcome or a release not yet
   * written, those being written included.
   */
  Set<Long> known() {
    assert lock.isHeldByCurrentThread();
    Set<Long> known = new HashSet<>(claimed.keySet());
    for (Pending p : outcomes) {
      known.add(p.outcome().id());
    }
    known.addAll(releases);
    Batch w = writing;
    if (w != null) {
      for (Pending p : w.outcomes) {
        known.add(p.outcome().id());
      }
      known.addAll(w.releases);
    }
    return known;
  }

  /**
   * The worker lost its lease: forget it, bump the generation, drop what is not written.
   *
   * @return false if {@code w} was no longer the worker (already lost)
   */
  boolean lose(long w) {
    assert lock.isHeldByCurrentThread();
    if (worker != w) {
      return false;
    }
    worker = 0;
    generation++;
    outcomes = new ArrayList<>();
    releases = new ArrayList<>();
    claimed.clear();
    return true;
  }

  /** The queue closes: forget the worker; returns its id (0 if none), for the caller to delete. */
  long retire() {
    assert lock.isHeldByCurrentThread();
    long w = worker;
    worker = 0;
    return w;
  }
}
