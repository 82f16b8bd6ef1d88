package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.LogCapture;
import dev.loomwork.QueueStats;
import dev.loomwork.ShutdownReport;
import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A shutdown with the database unreachable: the outcomes the flusher could not write are counted
 * apart from the written ones, in the report, in {@code stats()} and in the last INFO line, and
 * none of them is called succeeded.
 */
@ExtendWith(PostgresExtension.class)
class ShutdownOutageTest {
  static final int TASKS = 3;

  final DataSource ds;

  ShutdownOutageTest(DataSource ds) {
    this.ds = ds;
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
  }

  @Test
  void outcomesNotWrittenAtShutdownAreCountedApartFromTheWrittenOnes() throws Exception {
    StoreOutageTest.Unreachable db = new StoreOutageTest.Unreachable(ds, 1);
    PostgresStore store =
        PostgresStore.builder(db)
            .lease(Duration.ofSeconds(60)) // no lost lease while the test runs
            .pollInterval(Duration.ofMillis(100))
            .build();
    CountDownLatch started = new CountDownLatch(TASKS);
    CountDownLatch finish = new CountDownLatch(1);
    try (LogCapture log = new LogCapture();
        WorkQueue q =
            WorkQueue.builder("quiet-end")
                .store(store)
                .concurrency(TASKS)
                .handle(DurableQueueTest.JOB, (ctx, p) -> {
                  started.countDown();
                  finish.await();
                })
                .build()) {
      q.start();
      for (int i = 0; i < TASKS; i++) {
        store.enqueue("quiet-end", Task.of(DurableQueueTest.JOB, i));
      }
      assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the tasks did not start");

      db.down.set(true);
      finish.countDown(); // every attempt succeeds here; the store cannot hear of it
      ShutdownReport report = q.shutdown(Duration.ofSeconds(GENEROUS_SECONDS));

      assertEquals(0, report.succeeded(), "an outcome the store never wrote is not a success");
      assertEquals(TASKS, report.unwritten(), "the report counts the unwritten ends: " + report);
      QueueStats s = q.stats();
      assertEquals(0, s.succeeded(), "stats() agrees: " + s);
      assertEquals(TASKS, s.unwritten(), "stats() counts them apart: " + s);
      assertEquals(s.submitted(), s.outstanding() + s.completed() + s.handedBack() + s.unwritten(),
          "every task claimed is in exactly one count: " + s);
      List<String> last =
          log.await(1, m -> m.contains("drained in"), Duration.ofSeconds(GENEROUS_SECONDS));
      assertTrue(last.get(0).contains("0 succeeded")
              && last.get(0).contains(TASKS + " ended here but not written to the store"),
          "the last line counts written and unwritten ends apart: " + last);

      db.down.set(false);
      assertEquals(TASKS, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state = 'running'"),
          "the store still holds the tasks as running: the rescuer runs them again");
    }
  }

  @Test
  void writtenOutcomesAreCountedAsEndsAndNoneIsUnwritten() throws Exception {
    PostgresStore store = PostgresStore.builder(ds).pollInterval(Duration.ofMillis(100)).build();
    CountDownLatch ran = new CountDownLatch(TASKS);
    try (LogCapture log = new LogCapture();
        WorkQueue q =
            WorkQueue.builder("quiet-end")
                .store(store)
                .handle(DurableQueueTest.JOB, (ctx, p) -> ran.countDown())
                .build()) {
      q.start();
      for (int i = 0; i < TASKS; i++) {
        store.enqueue("quiet-end", Task.of(DurableQueueTest.JOB, i));
      }
      assertTrue(ran.await(GENEROUS_SECONDS, TimeUnit.SECONDS), "the tasks did not run");
      Sql.awaitTrue(ds, "SELECT count(*) = " + TASKS + " FROM loomwork_task WHERE state = 'succeeded'");
      ShutdownReport report = q.shutdown(Duration.ofSeconds(GENEROUS_SECONDS));
      assertEquals(TASKS, report.succeeded(), "written outcomes are successes: " + report);
      assertEquals(0, report.unwritten(), "nothing left unwritten: " + report);
      List<String> last =
          log.await(1, m -> m.contains("drained in"), Duration.ofSeconds(GENEROUS_SECONDS));
      assertTrue(!last.get(0).contains("not written"), "nothing unwritten to mention: " + last);
    }
  }
}
