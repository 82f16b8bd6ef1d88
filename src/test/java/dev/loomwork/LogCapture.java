package dev.loomwork;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.slf4j.LoggerFactory;

/**
 * Captures the queue's log lines for a test, and lets it wait for a line without sleeping. It
 * listens on {@code dev.loomwork.WorkQueue}, so it also gets its child {@code .tasks} logger's lines.
 * Public for the tests of the PostgreSQL store.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
  private final Logger logger = (Logger) LoggerFactory.getLogger("dev.loomwork.WorkQueue");
  private final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition appended = lock.newCondition();

  public LogCapture() {
    setName("test-capture");
    start();
    logger.addAppender(this);
  }

  @Override
  protected void append(ILoggingEvent event) {
    events.add(event);
    lock.lock();
    try {
      appended.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Every event captured so far, in order: for a test of their loggers, causes and key-values. */
  public List<ILoggingEvent> events() {
    return List.copyOf(events);
  }

  /** The formatted messages logged at {@code level} or above that match {@code filter}. */
  public List<String> messages(Level level, Predicate<String> filter) {
    return events.stream()
        .filter(e -> e.getLevel().isGreaterOrEqual(level))
        .map(ILoggingEvent::getFormattedMessage)
        .filter(filter)
        .toList();
  }

  /** Waits until at least {@code count} messages match; returns them. */
  public List<String> await(int count, Predicate<String> filter, Duration timeout)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (true) {
        List<String> found = messages(Level.TRACE, filter);
        if (found.size() >= count) {
          return found;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new TimeoutException("waited for " + count + " matching log lines; got " + found);
        }
        appended.awaitNanos(left);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    logger.detachAppender(this);
    stop();
  }
}
