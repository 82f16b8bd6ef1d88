package dev.loomwork.internal;

import dev.loomwork.QueueStats;
import dev.loomwork.Task;
import dev.loomwork.TaskState;
import dev.loomwork.internal.Verdict.Fate;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Everything the queue tells the outside world, always outside the queue's lock: listener events,
 * the two timers of the Micrometer binding, logs, and, once per task, its publication (the terminal
 * event, the after-callback, then the future).
 *
 * <p>Publication runs on the thread that ended the task: the attempt thread, a canceller, the
 * shutdown caller, or the owner when {@code run()} is interrupted. Never on the scheduler thread: a
 * task its timer ended is published on a new virtual thread ({@link #publishLater}).
 */
final class Publisher {
  private final String queue;
  private final SafeListener listener;
  private final boolean listening;
  /** The timers of a Micrometer binding, recorded directly (no listener fan-out), or null. */
  private final @Nullable QueueMetrics metrics;
  /** Whether anyone reads wait times: a listener or the metrics. */
  final boolean timing;
  /** The threads {@link #publishLater} started that have not finished. */
  private final Set<Thread> later = ConcurrentHashMap.newKeySet();
  /** The per-task log lines, on their own logger. */
  private final TaskLog tasks;

  Publisher(String queue, SafeListener listener, @Nullable QueueMetrics metrics) {
    this.queue = queue;
    this.listener = listener;
    this.listening = !listener.isEmpty();
    this.metrics = metrics;
    this.timing = listening || metrics != null;
    this.tasks = new TaskLog(queue);
  }

  /**
   * The events of one task reach the listeners in the order they happened. A thread that is about to
   * make the task visible to others (the producer admitting it, an attempt ending and perhaps filing
   * it for a retry) holds its events first ({@link #hold}), publishes, then drops its hold ({@link
   * #dropHold}); any other thread that publishes an event of the task waits for its turn ({@link
   * EventTurn#awaitEventTurn}). So {@code Enqueued} comes before the first attempt's events, and an
   * attempt's end and its retry before the next attempt's start. Only while there are listeners:
   * metrics and logs need no order.
   */
  void hold(TaskCore<?> t) {
    if (listening) {
      t.holdEvents();
    }
  }

  /** The end of {@link #hold}: in a {@code finally}, on the thread that held. */
  void dropHold(TaskCore<?> t) {
    if (listening) {
      t.dropEventHold();
    }
  }

  void enqueued(TaskCore<?> t) {
    if (listening) {
      listener.onEnqueued(t.handle);
    }
  }

  /** A submission refused (or a duplicate left out), counted by reason in the metrics. */
  void refused(Refusal refusal) {
    if (metrics != null) {
      metrics.refused(refusal);
    }
  }

  /** The Micrometer binding, or null. */
  @Nullable QueueMetrics metrics() {
    return metrics;
  }

  /**
   * A submission refused before the queue terminated: its event, then the part in delivering events
   * that the refusal took under the queue's lock ({@link QueueState#admit}) is given up.
   */
  void rejected(TaskCore<?> t, String reason) {
    try {
      if (listening) {
        listener.onRejected(queue, t.handle, reason);
      }
    } finally {
      exit();
    }
  }

  /** An attempt starts: the wait timer (first attempts only) and the listeners. */
  void started(TaskCore<?> t, int attempt, long nowNanos) {
    if (!timing) {
      return;
    }
    long waited = nowNanos - t.readyAtNanos;
    if (metrics != null && attempt == 1) {
      metrics.recordWait(t.handler(), waited);
    }
    if (listening) {
      t.awaitEventTurn();
      listener.onAttemptStarted(t.handle, attempt, Duration.ofNanos(waited));
    }
  }

  /** An attempt that started has ended. */
  void attemptEnded(TaskCore<?> t, int attempt, Verdict v, long nanos) {
    if (metrics != null) {
      metrics.recordAttempt(t.handler(), v.outcome(), nanos);
    }
    if (listening) {
      t.awaitEventTurn();
      listener.onAttemptFinished(t.handle, attempt, v.outcome(), Duration.ofNanos(nanos), v.error());
    }
  }

  void retryScheduled(TaskCore<?> t, int attempt, Throwable error, Instant retryAt) {
    tasks.retryScheduled(t, attempt, error, retryAt);
    if (listening) {
      t.awaitEventTurn();
      listener.onRetryScheduled(t.handle, error, retryAt);
    }
  }

  /**
   * What became of a task after its attempt, published at once: its retry, its hand-back, or its end
   * (see {@link TaskStore#publish}).
   */
  void attemptOver(TaskCore<?> t, int attempt, Fate fate, Verdict v) {
    switch (fate) {
      case RETRY -> retryScheduled(t, attempt, Objects.requireNonNull(v.error()), v.retryAt());
      case RELEASED -> released(t, attempt);
      default -> publish(t);
    }
  }

  /** A task left this process with no end here: handed back to its store, or surrendered with it. */
  void released(TaskCore<?> t, int attempt) {
    if (Log.TASKS.isDebugEnabled()) {
      Log.TASKS.debug(
          "queue '{}': task '{}' (id {}) attempt {} {}",
          queue, t.name(), t.storeId, attempt,
          t.surrendered ? "was cut: this worker lost its lease" : "was released to the store");
    }
  }

  void abandoned(TaskCore<?> t) {
    tasks.abandoned(t);
    if (listening) {
      t.awaitEventTurn();
      listener.onAbandoned(t.handle);
    }
  }

  // ---- onTerminated last, by construction --------------------------------------------------
  //
  // Most events come from threads the owner joins before it terminates: attempt threads (the scope),
  // the publications of timers (awaitLater), a durable store's loops (store.close()). Three kinds do
  // not: a cancel() publishes the pending task it ended on its caller's thread, a shutdown the tasks
  // it cancelled and abandoned on its caller's, and a producer its rejection. So the owner does not
  // deliver onTerminated itself: it only gives up its part of a count of the threads that may still
  // deliver, and the thread that brings the count to zero delivers it. A cancel or a shutdown takes
  // its part (enter) before it changes the books, so whatever it ends is published before the count
  // can reach zero; a rejection takes its part after the queue refused it, and is dropped if
  // onTerminated was delivered already. Once zero, the count stays zero: enter() refuses, and no
  // event can follow onTerminated. Nothing waits on the count, so no thread blocks on a slow listener
  // of another; the last thread out pays for onTerminated.

  /**
   * The threads that may still deliver an event outside the owner's joins, plus one for the owner
   * until it terminated; zero once onTerminated was delivered (or is being).
   */
  private final AtomicInteger deliverers = new AtomicInteger(1);
  /** The final counts, written by the owner before it gives up its part of {@link #deliverers}. */
  private volatile @Nullable QueueStats finalStats;

  /**
   * Takes a part in delivering events (a cancel, a shutdown), before the caller changes the books;
   * {@link #exit} gives it up, in a {@code finally}.
   *
   * @return false once onTerminated was delivered: the caller has nothing to deliver, and must not exit
   */
  boolean enter() {
    for (int n = deliverers.get(); n > 0; n = deliverers.get()) {
      if (deliverers.compareAndSet(n, n + 1)) {
        return true;
      }
    }
    return false;
  }

  /** Gives up a part taken by {@link #enter}; the last one out delivers onTerminated. */
  void exit() {
    if (deliverers.decrementAndGet() == 0 && listening) {
      listener.onTerminated(queue, Objects.requireNonNull(finalStats));
    }
  }

  /**
   * The owner, once the queue has terminated: gives up its part, so that onTerminated is delivered
   * now, or by the last cancel or shutdown still delivering events, after its last event.
   */
  void terminated(QueueStats stats) {
    finalStats = stats;
    try {
      exit();
    } finally {
      ownerOut.countDown();
    }
  }

  /** Opened once the owner gave up its part of {@link #deliverers} (and delivered onTerminated, if last). */
  private final CountDownLatch ownerOut = new CountDownLatch(1);

  /**
   * A shutdown that found the queue terminated, before it gives up its own part: waits until the
   * owner gave up its part, so that when the shutdown returns, onTerminated has been delivered (by
   * the owner, or by this shutdown as the last one out) unless a cancel on another thread is still
   * delivering events. Then a task refused after the shutdown returned gets no onRejected, every
   * time. The owner does nothing between the queue's termination and this point but deliver
   * onTerminated, so the wait is short.
   */
  void awaitOwnerOut() {
    Uninterruptibles.await(() -> {
      ownerOut.await();
      return true;
    });
  }

  /** Publishes a task that ended, once: its terminal event and log, the after-callback, the future. */
  void publish(TaskCore<?> t) {
    if (listening) {
      t.awaitEventTurn();
    }
    TaskState state = t.state();
    switch (state) {
      case SUCCEEDED -> {
        if (listening) {
          listener.onSucceeded(t.handle);
        }
      }
      case FAILED -> {
        Throwable e = Objects.requireNonNull(t.error());
        tasks.failed(t, e);
        if (listening) {
          listener.onFailed(t.handle, e);
        }
      }
      case CANCELLED -> {
        tasks.cancelled(t);
        if (listening) {
          listener.onCancelled(t.handle);
        }
      }
      default -> throw new AssertionError(state);
    }
    complete(t);
  }

  /**
   * Publishes a task ended by a timer on a new virtual thread, so that the scheduler thread never
   * runs user code (see {@link Timers}). The owner waits for these threads before the queue
   * terminates ({@link #awaitLater}).
   */
  void publishLater(TaskCore<?> t) {
    Thread thread =
        Thread.ofVirtual()
            .name("loomwork-" + queue + "-publish")
            .unstarted(
                () -> {
                  try {
                    publish(t);
                  } finally {
                    later.remove(Thread.currentThread());
                  }
                });
    later.add(thread);
    thread.start();
  }

  /**
   * The owner, once the scheduler has stopped (so no timer can publish anything more): waits until
   * every publication {@link #publishLater} started has finished, so that a drained queue has
   * published every task it ended.
   */
  void awaitLater() {
    for (Thread thread : later) {
      Uninterruptibles.join(thread);
    }
  }

  /** Completes a task cancelled before it was ever enqueued: only its callback and future. */
  static void publishUnqueued(TaskCore<?> t) {
    complete(t);
  }

  /** The after-callback, then the future, so that the callback runs before {@code await} returns. */
  private static <T extends @Nullable Object> void complete(TaskCore<T> t) {
    Consumer<? super Task<T>> after = t.afterCallback();
    if (after != null) {
      try {
        after.accept(t.handle);
      } catch (Throwable e) {
        Log.TASKS.atWarn().addKeyValue("taskId", t.id()).addKeyValue("taskName", t.name()).setCause(e)
            .log("task '{}': the after-callback threw; the task keeps its outcome", t.name());
      }
    }
    t.complete();
  }
}
