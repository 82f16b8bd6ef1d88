package dev.loomwork.internal;

import dev.loomwork.QueueStats;
import dev.loomwork.Task;
import dev.loomwork.WorkQueueListener;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * Fans events out to the user's listeners. A listener that throws is logged, at WARN the first time a
 * given listener fails on a given event and at DEBUG after that, and never harms the queue.
 */
final class SafeListener implements WorkQueueListener {
  private static final Logger log = Log.LOG;

  private final WorkQueueListener[] listeners;
  private final String queue;
  private final Set<String> reported = ConcurrentHashMap.newKeySet();

  SafeListener(String queue, List<WorkQueueListener> listeners) {
    this.queue = queue;
    this.listeners = listeners.toArray(WorkQueueListener[]::new);
  }

  boolean isEmpty() {
    return listeners.length == 0;
  }

  private interface Event {
    void fire(WorkQueueListener l);
  }

  private void each(String event, Event e) {
    for (WorkQueueListener l : listeners) {
      try {
        e.fire(l);
      } catch (Throwable t) {
        String key = l.getClass().getName() + "#" + event;
        if (reported.add(key)) {
          log.warn("queue '{}': listener {} threw from {}; the queue carries on", queue, l, event, t);
        } else {
          log.debug("queue '{}': listener {} threw from {}", queue, l, event, t);
        }
      }
    }
  }

  @Override
  public void onEnqueued(Task<?> task) {
    each("onEnqueued", l -> l.onEnqueued(task));
  }

  @Override
  public void onRejected(String queue, Task<?> task, String reason) {
    each("onRejected", l -> l.onRejected(queue, task, reason));
  }

  @Override
  public void onAttemptStarted(Task<?> task, int attempt, Duration waited) {
    each("onAttemptStarted", l -> l.onAttemptStarted(task, attempt, waited));
  }

  @Override
  public void onAttemptFinished(
      Task<?> task, int attempt, AttemptOutcome outcome, Duration duration, @Nullable Throwable error) {
    each("onAttemptFinished", l -> l.onAttemptFinished(task, attempt, outcome, duration, error));
  }

  @Override
  public void onRetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) {
    each("onRetryScheduled", l -> l.onRetryScheduled(task, error, nextAttemptAt));
  }

  @Override
  public void onSucceeded(Task<?> task) {
    each("onSucceeded", l -> l.onSucceeded(task));
  }

  @Override
  public void onFailed(Task<?> task, Throwable error) {
    each("onFailed", l -> l.onFailed(task, error));
  }

  @Override
  public void onCancelled(Task<?> task) {
    each("onCancelled", l -> l.onCancelled(task));
  }

  @Override
  public void onAbandoned(Task<?> task) {
    each("onAbandoned", l -> l.onAbandoned(task));
  }

  @Override
  public void onTerminated(String queue, QueueStats stats) {
    each("onTerminated", l -> l.onTerminated(queue, stats));
  }
}
