package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/**
 * The per-task log lines: their own logger, one stack trace per kind of error and queue, and SLF4J
 * key-value pairs a JSON encoder turns into fields.
 */
class TaskLogTest {
  private static final String TASKS = "dev.loomwork.WorkQueue.tasks";
  private static final RetryPolicy ONCE = RetryPolicy.defaults().withRetries(0);

  @RegisterExtension final QueueFixture fx = new QueueFixture();

  @Test
  void nFailuresOfKKindsLogKStackTracesAndOneLinePerTaskWithItsFields() throws Exception {
    int perKind = 20;
    try (LogCapture log = new LogCapture()) {
      WorkQueue queue = fx.started(WorkQueue.builder("log-volume").retryPolicy(ONCE));
      List<Task<?>> tasks = new ArrayList<>();
      for (int i = 0; i < perKind; i++) {
        int n = i;
        // Three kinds: two throw sites of one class, and another class. Messages differ every time.
        tasks.add(queue.enqueue(Task.of(ctx -> siteA(n)).named("a-" + n)));
        tasks.add(queue.enqueue(Task.of(ctx -> siteB(n)).named("b-" + n)));
        tasks.add(queue.enqueue(Task.of(ctx -> siteC(n)).named("c-" + n)));
      }
      awaitFailed(tasks);

      List<ILoggingEvent> failed = events(log, e -> e.getFormattedMessage().contains(" failed after "));
      assertEquals(3 * perKind, failed.size(), "one line per failed task");
      for (ILoggingEvent e : failed) {
        assertEquals(TASKS, e.getLoggerName(), "per-task lines have their own logger");
        assertEquals(Level.WARN, e.getLevel());
      }
      // The stack traces: one per kind, the first of each; nothing else in the log has one.
      List<ILoggingEvent> traced = log.events().stream().filter(e -> e.getThrowableProxy() != null).toList();
      assertEquals(3, traced.size(), () -> "stack traces: " + traced);
      assertEquals(Set.of("siteA", "siteB", "siteC"),
          traced.stream().map(TaskLogTest::thrownIn).collect(Collectors.toSet()));
      for (ILoggingEvent e : traced) {
        assertEquals("1", fields(e).get("errorCount"), "the first of its kind: " + e.getFormattedMessage());
      }

      // Every line carries its task's fields; the later ones of a kind count it up to perKind.
      Map<String, Task<?>> byName = new HashMap<>();
      tasks.forEach(t -> byName.put(t.name(), t));
      Map<String, Integer> lastCount = new TreeMap<>();
      for (ILoggingEvent e : failed) {
        Map<String, String> f = fields(e);
        Task<?> task = byName.get(f.get("taskName"));
        assertNotNull(task, () -> "taskName of " + e.getFormattedMessage());
        assertEquals("log-volume", f.get("queue"));
        assertEquals(task.id(), f.get("taskId"));
        assertEquals("1", f.get("attempt"));
        assertEquals("failed", f.get("outcome"));
        String kind = task.name().substring(0, 1);
        assertEquals(kind.equals("c") ? IllegalStateException.class.getName() : IOException.class.getName(),
            f.get("errorType"));
        assertTrue(e.getFormattedMessage().startsWith("queue 'log-volume': task '" + task.name() + "' failed after"),
            e.getFormattedMessage());
        lastCount.merge(kind, Integer.parseInt(f.get("errorCount")), Math::max);
        if (e.getThrowableProxy() == null) {
          assertTrue(e.getFormattedMessage().contains("of this kind; its stack trace was logged with the first"),
              e.getFormattedMessage());
        }
      }
      assertEquals(Map.of("a", perKind, "b", perKind, "c", perKind), lastCount);
    }
  }

  @Test
  void eachQueueLogsTheFirstStackTraceOfAKindItself() throws Exception {
    try (LogCapture log = new LogCapture()) {
      WorkQueue one = fx.started(WorkQueue.builder("one").retryPolicy(ONCE));
      WorkQueue two = fx.started(WorkQueue.builder("two").retryPolicy(ONCE));
      List<Task<?>> tasks = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        int n = i;
        tasks.add(one.submit(ctx -> siteA(n)));
        tasks.add(two.submit(ctx -> siteA(n)));
      }
      awaitFailed(tasks);
      List<ILoggingEvent> traced = log.events().stream().filter(e -> e.getThrowableProxy() != null).toList();
      assertEquals(Set.of("one", "two"), traced.stream().map(e -> fields(e).get("queue")).collect(Collectors.toSet()));
      assertEquals(2, traced.size(), traced::toString);
    }
  }

  @Test
  void atDebugTheLaterTracesAndEveryRetryAreLoggedWithTheirAttempt() throws Exception {
    Logger tasksLogger = (Logger) LoggerFactory.getLogger(TASKS);
    Level before = tasksLogger.getLevel();
    tasksLogger.setLevel(Level.DEBUG);
    try (LogCapture log = new LogCapture()) {
      WorkQueue queue = fx.started(WorkQueue.builder("debug").retryPolicy(
          RetryPolicy.defaults().withRetries(2).withBackoff(Backoff.fixed(java.time.Duration.ZERO))));
      Task<?> first = queue.enqueue(Task.of(ctx -> siteA(ctx.attempt())).named("first"));
      awaitFailed(List.of(first));
      Task<?> second = queue.enqueue(Task.of(ctx -> siteA(ctx.attempt())).named("second"));
      awaitFailed(List.of(second));

      for (Task<?> task : List.of(first, second)) {
        // The task's end can come before attempt 1's retry line: with no listener, its attempts'
        // events are not held in order, and with no backoff attempt 2 runs at once. Wait for both.
        log.await(2, m -> m.contains("task '" + task.name() + "' attempt ") && m.contains("; retry at "),
            TestTimeouts.GENEROUS);
        List<ILoggingEvent> retries = events(log, e -> e.getLevel() == Level.DEBUG
            && task.name().equals(fields(e).get("taskName")) && "retry".equals(fields(e).get("outcome")));
        // Sorted: with no backoff, attempt 2 can end and log before attempt 1's retry line is logged.
        assertEquals(List.of("1", "2"), retries.stream().map(e -> fields(e).get("attempt")).sorted().toList());
        retries.forEach(e -> assertNotNull(fields(e).get("retryAt")));
        ILoggingEvent warn = events(log, e -> e.getLevel() == Level.WARN
            && task.name().equals(fields(e).get("taskName"))).getFirst();
        assertEquals("3", fields(warn).get("attempt"));
        assertEquals(task.id(), fields(warn).get("taskId"));
      }
      ILoggingEvent secondWarn = events(log, e -> e.getLevel() == Level.WARN
          && "second".equals(fields(e).get("taskName"))).getFirst();
      assertNull(secondWarn.getThrowableProxy(), "the second of a kind: no trace at WARN");
      List<ILoggingEvent> debugTrace = events(log, e -> e.getLevel() == Level.DEBUG
          && "second".equals(fields(e).get("taskName")) && e.getThrowableProxy() != null);
      assertEquals(1, debugTrace.size(), "its trace at DEBUG");
      assertEquals("siteA", thrownIn(debugTrace.getFirst()));
    } finally {
      tasksLogger.setLevel(before);
    }
  }

  private static void siteA(int n) throws IOException {
    throw new IOException("downstream unavailable, request " + n);
  }

  private static void siteB(int n) throws IOException {
    throw new IOException("connection reset, request " + n);
  }

  private static void siteC(int n) {
    throw new IllegalStateException("bad state " + n);
  }

  private static void awaitFailed(List<Task<?>> tasks) throws Exception {
    for (Task<?> task : tasks) {
      ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
          ExecutionException.class, () -> task.future().get(GENEROUS.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS));
      assertInstanceOf(Exception.class, e.getCause());
      assertEquals(TaskState.FAILED, task.state());
    }
  }

  private static List<ILoggingEvent> events(LogCapture log, Predicate<ILoggingEvent> filter) {
    return log.events().stream().filter(filter).toList();
  }

  /** The event's key-value pairs, values as text. */
  private static Map<String, String> fields(ILoggingEvent e) {
    Map<String, String> fields = new HashMap<>();
    @Nullable List<KeyValuePair> pairs = e.getKeyValuePairs();
    if (pairs != null) {
      pairs.forEach(p -> fields.put(p.key, String.valueOf(p.value)));
    }
    return fields;
  }

  /** The method that threw the event's exception. */
  private static String thrownIn(ILoggingEvent e) {
    IThrowableProxy proxy = e.getThrowableProxy();
    return proxy.getStackTraceElementProxyArray()[0].getStackTraceElement().getMethodName();
  }
}
