package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A listener that records every event, in order, and lets a test wait for events without sleeping
 * (in the spirit of OkHttp's {@code RecordingEventListener}):
 *
 * <pre>{@code
 * RecordingListener events = new RecordingListener();
 * WorkQueue q = fx.started(WorkQueue.builder("q").listener(events));
 * ...
 * Instant at = events.awaitFirst(RetryScheduled.class).nextAttemptAt();
 * }</pre>
 *
 * <p>A subclass can act on each event after it is recorded by overriding {@link #recorded(Event)}
 * (to throw from every listener method, say).
 */
class RecordingListener implements WorkQueueListener {

  /** One listener call. Its {@link #kind()} is the name of the listener method. */
  sealed interface Event {
    Task<?> task();

    default String kind() {
      return "on" + getClass().getSimpleName();
    }
  }

  record Enqueued(Task<?> task) implements Event {}

  record Rejected(String queue, Task<?> task, String reason) implements Event {}

  record AttemptStarted(Task<?> task, int attempt, Duration waited) implements Event {}

  record AttemptFinished(
      Task<?> task, int attempt, AttemptOutcome outcome, Duration duration, @Nullable Throwable error)
      implements Event {}

  record RetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) implements Event {}

  record Succeeded(Task<?> task) implements Event {}

  record Failed(Task<?> task, Throwable error) implements Event {}

  record Cancelled(Task<?> task) implements Event {}

  record Abandoned(Task<?> task) implements Event {}

  /** The kinds of event, one per listener method, in alphabetical order. */
  static final List<String> KINDS =
      Stream.of(RecordingListener.Event.class.getPermittedSubclasses())
          .map(c -> "on" + c.getSimpleName())
          .sorted()
          .toList();

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition recordedOne = lock.newCondition();
  private final List<Event> events = new ArrayList<>();

  /** Called after each event is recorded, on the thread that called the listener. */
  protected void recorded(Event event) {}

  private void record(Event event) {
    lock.lock();
    try {
      events.add(event);
      recordedOne.signalAll();
    } finally {
      lock.unlock();
    }
    recorded(event);
  }

  /** Every event so far, in order. */
  List<Event> events() {
    lock.lock();
    try {
      return List.copyOf(events);
    } finally {
      lock.unlock();
    }
  }

  /** The events of one kind so far, in order. */
  <E extends Event> List<E> events(Class<E> type) {
    return events().stream().filter(type::isInstance).map(type::cast).toList();
  }

  /** The tasks of the events of one kind so far, in order. */
  List<Task<?>> tasks(Class<? extends Event> type) {
    return events(type).stream().<Task<?>>map(Event::task).toList();
  }

  /** How many events of each kind so far: every kind of {@link #KINDS}, zeros included. */
  Map<String, Integer> countsByKind() {
    Map<String, Integer> counts = new TreeMap<>();
    KINDS.forEach(kind -> counts.put(kind, 0));
    events().forEach(e -> counts.merge(e.kind(), 1, Integer::sum));
    return counts;
  }

  /** Waits until there are at least {@code count} events of one kind; returns them all. */
  <E extends Event> List<E> await(Class<E> type, int count) throws InterruptedException {
    long deadline = System.nanoTime() + GENEROUS.toNanos();
    lock.lock();
    try {
      while (true) {
        List<E> found = events.stream().filter(type::isInstance).map(type::cast).toList();
        if (found.size() >= count) {
          return found;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return fail(
              "waited " + GENEROUS + " for " + count + " " + type.getSimpleName() + " event(s); got " + events);
        }
        recordedOne.await(left, TimeUnit.NANOSECONDS);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Waits for the first event of one kind, and returns it. */
  <E extends Event> E awaitFirst(Class<E> type) throws InterruptedException {
    return await(type, 1).getFirst();
  }

  @Override
  public void onEnqueued(Task<?> task) {
    record(new Enqueued(task));
  }

  @Override
  public void onRejected(String queue, Task<?> task, String reason) {
    record(new Rejected(queue, task, reason));
  }

  @Override
  public void onAttemptStarted(Task<?> task, int attempt, Duration waited) {
    record(new AttemptStarted(task, attempt, waited));
  }

  @Override
  public void onAttemptFinished(
      Task<?> task, int attempt, AttemptOutcome outcome, Duration duration, @Nullable Throwable error) {
    record(new AttemptFinished(task, attempt, outcome, duration, error));
  }

  @Override
  public void onRetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) {
    record(new RetryScheduled(task, error, nextAttemptAt));
  }

  @Override
  public void onSucceeded(Task<?> task) {
    record(new Succeeded(task));
  }

  @Override
  public void onFailed(Task<?> task, Throwable error) {
    record(new Failed(task, error));
  }

  @Override
  public void onCancelled(Task<?> task) {
    record(new Cancelled(task));
  }

  @Override
  public void onAbandoned(Task<?> task) {
    record(new Abandoned(task));
  }
}
