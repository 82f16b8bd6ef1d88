package dev.loomwork.internal;

import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The per-task log lines of one queue, on their own logger ({@link Log#TASKS}), each with SLF4J 2
 * key-value pairs so that a JSON encoder writes fields: {@code queue}, {@code taskId}, {@code
 * taskName}, {@code attempt}, {@code outcome}, and {@code handler} for a typed task; a failure adds
 * {@code errorType} and {@code errorCount}.
 *
 * <p>A task that failed for good logs one WARN line. Its stack trace comes with it only the first
 * time the queue sees that kind of error: the exception's class and the place it was thrown, and
 * the same for each cause. Later failures of that kind log the line with how many there have been,
 * and their trace at DEBUG. So an outage that fails a thousand tasks the same way writes one stack
 * trace, not a thousand.
 */
final class TaskLog {
  /** Kinds of error remembered per queue; past this, every further kind's trace goes to DEBUG. */
  static final int MAX_KINDS = 1024;
  /** How many causes deep a kind of error is told apart. */
  private static final int CAUSE_DEPTH = 4;

  private static final Logger log = Log.TASKS;

  private final String queue;
  /** Failures for good by kind of error: the first of each kind logged its stack trace. */
  private final ConcurrentHashMap<String, AtomicLong> kinds = new ConcurrentHashMap<>();

  TaskLog(String queue) {
    this.queue = queue;
  }

  /** A task failed for good. */
  void failed(TaskCore<?> t, Throwable error) {
    if (!log.isWarnEnabled()) {
      return;
    }
    long count = count(error);
    String message = "queue '{}': task {} failed after {} attempt(s): {}";
    if (count == 1) {
      fields(log.atWarn(), t, t.attempts(), "failed")
          .addKeyValue("errorType", error.getClass().getName())
          .addKeyValue("errorCount", count)
          .setCause(error)
          .log(message, queue, label(t), t.attempts(), error.toString());
      return;
    }
    LoggingEventBuilder line = fields(log.atWarn(), t, t.attempts(), "failed")
        .addKeyValue("errorType", error.getClass().getName());
    if (count > 1) {
      line.addKeyValue("errorCount", count)
          .log(message + " (failure {} of this kind; its stack trace was logged with the first, later ones"
                  + " at DEBUG)",
              queue, label(t), t.attempts(), error.toString(), count);
    } else {
      line.log(message + " (too many kinds of error to tell apart; stack trace at DEBUG)",
          queue, label(t), t.attempts(), error.toString());
    }
    if (log.isDebugEnabled()) {
      fields(log.atDebug(), t, t.attempts(), "failed")
          .addKeyValue("errorType", error.getClass().getName())
          .setCause(error)
          .log("queue '{}': task {} failed: stack trace", queue, label(t));
    }
  }

  /** An attempt failed and the task waits to retry (DEBUG). */
  void retryScheduled(TaskCore<?> t, int attempt, Throwable error, Instant retryAt) {
    if (log.isDebugEnabled()) {
      fields(log.atDebug(), t, attempt, "retry")
          .addKeyValue("errorType", error.getClass().getName())
          .addKeyValue("retryAt", retryAt)
          .log("queue '{}': task {} attempt {} failed ({}); retry at {}",
              queue, label(t), attempt, error.toString(), retryAt);
    }
  }

  /** A task was cancelled (DEBUG). */
  void cancelled(TaskCore<?> t) {
    if (log.isDebugEnabled()) {
      fields(log.atDebug(), t, t.attempts(), "cancelled")
          .log("queue '{}': task {} cancelled after {} attempt(s)", queue, label(t), t.attempts());
    }
  }

  /** A shutdown gave up on a task that ignored its interruption (WARN). */
  void abandoned(TaskCore<?> t) {
    fields(log.atWarn(), t, t.attempts(), "abandoned")
        .log("queue '{}': task {} ignored its interruption and still runs; it is abandoned", queue, label(t));
  }

  /**
   * Counts a failure of this kind: 1 for the first, which logs the stack trace; 0 when the kind is
   * new but too many kinds are known already (its trace goes to DEBUG as well).
   */
  private long count(Throwable error) {
    String kind = kind(error);
    AtomicLong n = kinds.get(kind);
    if (n == null) {
      if (kinds.size() >= MAX_KINDS) {
        return 0;
      }
      n = kinds.computeIfAbsent(kind, k -> new AtomicLong());
    }
    return n.incrementAndGet();
  }

  /** An error's kind: its class and the frame it was thrown at, and the same for its causes. */
  static String kind(Throwable error) {
    StringBuilder kind = new StringBuilder();
    Throwable e = error;
    for (int depth = 0; e != null && depth < CAUSE_DEPTH; depth++, e = e.getCause()) {
      if (depth > 0) {
        kind.append(" <- ");
      }
      kind.append(e.getClass().getName());
      StackTraceElement[] trace = e.getStackTrace();
      if (trace.length > 0) {
        kind.append(" at ").append(trace[0]);
      }
    }
    return kind.toString();
  }

  /** {@code 'NAME'}, and {@code of handler 'HANDLER'} for a typed task. */
  private static String label(TaskCore<?> t) {
    @Nullable String handler = t.handler();
    return handler == null ? "'" + t.name() + "'" : "'" + t.name() + "' of handler '" + handler + "'";
  }

  private LoggingEventBuilder fields(LoggingEventBuilder event, TaskCore<?> t, int attempt, String outcome) {
    event.addKeyValue("queue", queue)
        .addKeyValue("taskId", t.id())
        .addKeyValue("taskName", t.name())
        .addKeyValue("attempt", attempt)
        .addKeyValue("outcome", outcome);
    @Nullable String handler = t.handler();
    if (handler != null) {
      event.addKeyValue("handler", handler);
    }
    return event;
  }
}
