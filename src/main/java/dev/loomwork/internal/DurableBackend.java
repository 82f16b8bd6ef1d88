package dev.loomwork.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The I/O of a durable store, as the engine calls it: register a worker, claim, complete, release,
 * renew the lease, rescue, wait for wake-ups. Implemented by the PostgreSQL store (package {@code
 * dev.loomwork.postgres}); public only so that package can implement it, and not exported.
 *
 * <p>Every method may block on the network and is called on one of the queue's virtual threads,
 * never under the queue's lock and never on the scheduler thread. Any exception means "this did not
 * happen"; the engine retries or fences itself.
 */
public interface DurableBackend {

  /** The store's settings. */
  Settings settings();

  /**
   * Registers a worker for {@code queue} with a fresh lease, recording the handlers it claims and
   * the newest payload version of each; returns its id.
   */
  long register(String queue, Map<String, Integer> handlers) throws Exception;

  /** Renews the lease; false if the worker's row is gone (its lease was lost). */
  boolean heartbeat(long worker) throws Exception;

  /** Deletes the worker's row. */
  void deregister(long worker) throws Exception;

  /**
   * Claims up to {@code n} due tasks of {@code queue} whose handlers are keys of {@code handlers}
   * and whose payload version is at most that key's value: a worker never claims a payload newer
   * than its codec.
   *
   * @return the claimed tasks, or null if the worker's lease is gone
   */
  @Nullable List<Claimed> claim(String queue, Map<String, Integer> handlers, long worker, int n)
      throws Exception;

  /**
   * How long until the next ready task of {@code queue} that {@link #claim} would take is due, or
   * null if none is waiting.
   */
  @Nullable Duration nextDue(String queue, Map<String, Integer> handlers) throws Exception;

  /**
   * Writes a batch of outcomes, fenced on the worker and each outcome's attempt.
   *
   * @return the ids of the outcomes that changed nothing (fenced out)
   */
  List<Long> complete(long worker, List<Outcome> outcomes) throws Exception;

  /** Returns cut tasks to ready with their attempt given back; fenced like a completion. */
  void release(long worker, Collection<Long> ids) throws Exception;

  /** Every running task of the worker, as the store sees it. */
  List<Long> running(long worker) throws Exception;

  /** The running tasks of the worker whose cancel was requested. */
  List<Long> cancelRequested(long worker) throws Exception;

  /**
   * Runs the rescuer once, if no other process runs it now.
   *
   * @return the workers it found lost and the tasks it took back from them, or null if another
   *     process holds the lock
   */
  @Nullable Rescue rescue() throws Exception;

  /**
   * The store's tasks of {@code queue} by state. Reads every row of the queue: call it on a timer,
   * never per scrape.
   */
  Counts counts(String queue) throws Exception;

  /**
   * The due ready tasks of {@code queue} whose handler no live worker of the queue registered, by
   * handler (absent when none). Reads the queue's ready tasks: call it on a timer.
   */
  java.util.Map<String, Long> unclaimable(String queue) throws Exception;

  /** Deletes old ended tasks, if no other process does it now. */
  void prune() throws Exception;

  /** Sends a wake-up for a queue. */
  void notifyQueue(String queue) throws Exception;

  /** Opens a dedicated connection subscribed to a queue's wake-ups. */
  Listening listen(String queue) throws Exception;

  /** A subscription: wait for wake-ups, then close. */
  interface Listening extends AutoCloseable {
    /**
     * Waits up to {@code timeout} for a wake-up.
     *
     * @return true if one came
     * @throws Exception if the connection broke: open a new subscription, and claim once
     */
    boolean await(Duration timeout) throws Exception;

    @Override
    void close();
  }

  /**
   * The store's timing.
   *
   * @param lease how long a worker's lease lasts without a heartbeat
   * @param heartbeat how often a worker renews it
   * @param rescueInterval how often each process tries to rescue lost workers' tasks
   * @param pollInterval how often an idle worker with free permits claims without a wake-up
   * @param pollOnly whether to poll instead of LISTEN (for PgBouncer in transaction mode)
   * @param pruneInterval how often each process tries to prune old ended tasks
   */
  record Settings(
      Duration lease,
      Duration heartbeat,
      Duration rescueInterval,
      Duration pollInterval,
      boolean pollOnly,
      Duration pruneInterval) {}

  /**
   * A claimed task, running for the claiming worker.
   *
   * @param attempt the attempt now starting, from 1
   * @param deadline the task's deadline, computed by the database at insert, or null
   * @param uniqueKey the task's unique key, or null (a recurring task's tick has one)
   */
  record Claimed(
      long id,
      String handler,
      String payloadJson,
      @Nullable String name,
      int attempt,
      int maxAttempts,
      @Nullable Instant deadline,
      @Nullable String uniqueKey) {}

  /** How an attempt ended, as written to the store. */
  enum Ending {
    /** The task succeeded. */
    SUCCEEDED,
    /** The task failed for good. */
    FAILED,
    /** The task goes back to ready, due after the outcome's delay. */
    RETRY,
    /** The task was cancelled. */
    CANCELLED
  }

  /**
   * One attempt's outcome.
   *
   * @param id the task
   * @param attempt the attempt that ended, as its claim returned it
   * @param ending how it ended
   * @param retryDelay for {@link Ending#RETRY}, the delay from the database's now(); else zero
   * @param error the attempt's error, or null; the store keeps it as the task's last error
   */
  record Outcome(long id, int attempt, Ending ending, Duration retryDelay, @Nullable Throwable error) {
    public Outcome {
      Objects.requireNonNull(ending, "ending");
      Objects.requireNonNull(retryDelay, "retryDelay");
      if (retryDelay.isNegative()) {
        throw new IllegalArgumentException("retryDelay: " + retryDelay + " (expected: >= 0)");
      }
    }

    /** The attempt succeeded. */
    public static Outcome succeeded(long id, int attempt) {
      return new Outcome(id, attempt, Ending.SUCCEEDED, Duration.ZERO, null);
    }

    /** The attempt failed, and the task with it. */
    public static Outcome failed(long id, int attempt, @Nullable Throwable error) {
      return new Outcome(id, attempt, Ending.FAILED, Duration.ZERO, error);
    }

    /** The attempt failed; the task runs again {@code delay} after the database's now(). */
    public static Outcome retry(long id, int attempt, Duration delay, @Nullable Throwable error) {
      return new Outcome(id, attempt, Ending.RETRY, delay, error);
    }

    /** The attempt was cancelled, and the task with it. */
    public static Outcome cancelled(long id, int attempt, @Nullable Throwable error) {
      return new Outcome(id, attempt, Ending.CANCELLED, Duration.ZERO, error);
    }
  }

  /**
   * What one rescue did, worker by worker.
   *
   * @param workers each lost worker whose tasks it took back, or whose expired row it deleted
   */
  record Rescue(List<LostWorker> workers) {
    /** How many tasks it took back, from every worker. */
    public int tasks() {
      int n = 0;
      for (LostWorker w : workers) {
        for (int k : w.tasksByQueue().values()) {
          n += k;
        }
      }
      return n;
    }
  }

  /**
   * A lost worker, as a rescue found it.
   *
   * @param id the worker
   * @param queue the worker's queue, or null when its row was already gone (deregistered while a
   *     claim of its was committing)
   * @param late how long after its lease expired the rescue ran, or null when its row was gone
   * @param tasksByQueue the tasks taken back from it, by the queue of each task
   */
  record LostWorker(long id, @Nullable String queue, @Nullable Duration late, java.util.Map<String, Integer> tasksByQueue) {}

  /**
   * A queue's tasks by state, by the database's clock.
   *
   * @param ready ready and due
   * @param waiting ready but not yet due (a not-before time or a retry's backoff)
   */
  record Counts(long ready, long waiting, long running, long succeeded, long failed, long cancelled) {}
}
