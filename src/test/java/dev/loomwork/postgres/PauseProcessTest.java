package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.PROCESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.Task;
import dev.loomwork.TaskState;
import dev.loomwork.admin.StoreAdmin;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A pause made in one process stops the claims of a worker in another: the worker is a child JVM
 * running {@link DurableWorkerMain}, in this JVM's runner mode, and this JVM pauses and resumes its
 * queue through the store's admin.
 */
@ExtendWith(PostgresExtension.class)
class PauseProcessTest {
  final DataSource ds;
  final String url;
  final PostgresStore store;
  final StoreAdmin admin;
  final List<DurableProcessTest.Worker> workers = new ArrayList<>();

  PauseProcessTest(DataSource ds) {
    this.ds = ds;
    this.url = ((UrlDataSource) ds).url();
    this.store = PostgresStore.of(ds);
    this.admin = store.admin();
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker, loomwork_paused_queue");
  }

  @AfterEach
  void killWorkers() {
    for (DurableProcessTest.Worker w : workers) {
      w.process.destroyForcibly();
    }
  }

  /** How many times any session has read the paused-queue table, by the statistics collector. */
  long pauseChecks() throws Exception {
    return Sql.count(
        ds,
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
            + " WHERE relname = 'loomwork_paused_queue'");
  }

  @Test
  void aPauseInOneProcessStopsTheClaimsOfAnotherAndLetsItsRunningAttemptEnd() throws Exception {
    DurableProcessTest.Worker w = start("paused");
    long running = store.enqueue("paused", Task.of(DurableQueueTest.JOB, 1));
    w.await(line -> line.equals("start " + running + " 1"));

    assertTrue(admin.pause("paused"));
    long checked = pauseChecks();
    long waiting = store.enqueue("paused", Task.of(DurableQueueTest.JOB, 2)); // notifies the worker
    w.send("release");
    w.await(line -> line.equals("ok " + running)); // the running attempt ran to its end

    // The worker claims (and checks the pause) at the notification, after the attempt's end and at
    // every poll: wait until it has checked many times since the pause, more than the statistics'
    // reporting delay could hold back from before it, and see that it took nothing.
    Sql.awaitTrue(
        ds,
        PROCESS,
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) >= ? FROM pg_stat_user_tables"
            + " WHERE relname = 'loomwork_paused_queue'",
        checked + 12);
    assertEquals(TaskState.READY, store.find(waiting).orElseThrow().state(), "not claimed while paused");
    assertEquals(List.of("start " + running + " 1"), w.starts(), "nothing started while paused");

    assertTrue(admin.resume("paused"));
    w.await(line -> line.equals("ok " + waiting));
    w.drain();
    assertEquals(TaskState.SUCCEEDED, store.find(waiting).orElseThrow().state());
  }

  DurableProcessTest.Worker start(String queue) throws IOException, InterruptedException {
    DurableProcessTest.Worker w =
        DurableProcessTest.launch(url, queue, 4, DurableProcessTest.LEASE_MILLIS * 10, "block");
    workers.add(w);
    w.await(line -> line.equals("ready"));
    return w;
  }
}
