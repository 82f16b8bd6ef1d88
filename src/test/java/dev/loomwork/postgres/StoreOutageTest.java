package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.loomwork.LogCapture;
import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A database that cannot be reached: the store's loops back off, count their failures, and log the
 * outage once when it starts and once when it ends, whatever its length; work resumes after it.
 */
@ExtendWith(PostgresExtension.class)
class StoreOutageTest {
  /**
   * Failed store operations to wait for before the database comes back: with the backoff (200 ms
   * doubling to 5 s) about three loops reach this in 3 to 4 s. Before the backoff and the outage log,
   * each failure was a WARN with its stack trace; a 20 s outage was thousands of lines.
   */
  static final int FAILURES = 12;

  final DataSource ds;

  StoreOutageTest(DataSource ds) {
    this.ds = ds;
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
  }

  /** A data source that refuses connections while {@code down} is set, counting each refusal. */
  static final class Unreachable extends DelegatingDataSource {
    final AtomicBoolean down = new AtomicBoolean();
    final CountDownLatch refused;

    Unreachable(DataSource real, int failures) {
      super(real);
      refused = new CountDownLatch(failures);
    }

    @Override
    public Connection getConnection() throws SQLException {
      if (down.get()) {
        refused.countDown();
        throw new SQLException("Connection refused (the test's outage)", "08001");
      }
      return super.getConnection();
    }
  }

  @Test
  void anOutageLogsOneWarningWhenItStartsAndOneLineWhenItEndsAndWorkResumes() throws Exception {
    Unreachable db = new Unreachable(ds, FAILURES);
    PostgresStore store =
        PostgresStore.builder(db)
            .lease(Duration.ofSeconds(60)) // the lease outlives the outage: no lost lease in the log
            .rescueInterval(Duration.ofMillis(100))
            .pollInterval(Duration.ofMillis(100))
            .build();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CountDownLatch first = new CountDownLatch(1);
    CountDownLatch second = new CountDownLatch(1);
    try (LogCapture log = new LogCapture();
        WorkQueue q =
            WorkQueue.builder("outage")
                .store(store)
                .meterRegistry(registry)
                .handle(DurableQueueTest.JOB, (ctx, p) -> (p == 1 ? first : second).countDown())
                .build()) {
      q.start();
      store.enqueue("outage", Task.of(DurableQueueTest.JOB, 1));
      assertTrue(first.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the first task did not run");

      int before = log.events().size();
      db.down.set(true);
      assertTrue(db.refused.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the loops stopped trying");
      List<ILoggingEvent> during = lines(log, before);
      db.down.set(false);
      List<String> back =
          log.await(1, m -> m.contains("the store answers again"), Duration.ofSeconds(GENEROUS_SECONDS));
      store.enqueue("outage", Task.of(DurableQueueTest.JOB, 2));
      assertTrue(second.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "work did not resume after the outage");

      List<ILoggingEvent> warnings =
          during.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).toList();
      assertEquals(1, warnings.size(), "one WARN for " + FAILURES + " failures: " + messages(during));
      ILoggingEvent warning = warnings.get(0);
      assertTrue(warning.getFormattedMessage().contains("Connection refused (the test's outage)"),
          "the WARN names the cause: " + warning.getFormattedMessage());
      assertNull(warning.getThrowableProxy(), "no stack trace in the outage's WARN");
      assertEquals(1, back.size(), "one line when it ends: " + back);
      assertTrue(lines(log, before).size() <= 3,
          "the whole outage logs a handful of lines: " + messages(lines(log, before)));

      double failed =
          registry.find("loomwork.store.failures").tag("queue", "outage").counters().stream()
              .mapToDouble(Counter::count).sum();
      assertTrue(failed >= FAILURES - 1, "the failure meter counts each failed operation: " + failed);
    }
  }

  /** The lines at INFO or above logged since the {@code from}th. */
  private static List<ILoggingEvent> lines(LogCapture log, int from) {
    List<ILoggingEvent> all = log.events();
    return all.subList(from, all.size()).stream()
        .filter(e -> e.getLevel().isGreaterOrEqual(Level.INFO))
        .toList();
  }

  private static List<String> messages(List<ILoggingEvent> events) {
    return events.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
  }
}
