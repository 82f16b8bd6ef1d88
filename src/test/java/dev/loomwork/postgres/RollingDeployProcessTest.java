package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.ChildJvm;
import dev.loomwork.Task;
import dev.loomwork.postgres.DurableProcessTest.Worker;
import java.io.IOException;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A rolling deploy: an old and a new worker process of one handler on one queue, the new one with a
 * payload the old codec cannot read (issue 20, point 3). Each worker is a child JVM running {@link
 * VersionedWorkerMain}, in this JVM's runner mode.
 */
@ExtendWith(PostgresExtension.class)
class RollingDeployProcessTest {
  static final String QUEUE = "deploy";
  static final int EACH = 60;

  final DataSource ds;
  final String url;
  final PostgresStore store;
  final List<Worker> workers = new ArrayList<>();

  RollingDeployProcessTest(DataSource ds) {
    this.ds = ds;
    this.url = ((UrlDataSource) ds).url();
    this.store = PostgresStore.of(ds);
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
  }

  @AfterEach
  void killWorkers() {
    for (Worker w : workers) {
      w.process.destroyForcibly();
    }
  }

  @Test
  void newPayloadsGoOnlyToTheNewWorkerAndNoneFailsWhileTheOldOneRuns() throws Exception {
    Worker old = start(1);
    Worker neu = start(2);
    Sql.awaitTrue(ds, "SELECT count(*) = 2 FROM loomwork_worker WHERE queue = ?", QUEUE);
    assertEquals(
        1,
        Sql.count(ds, "SELECT count(*) FROM loomwork_worker WHERE handlers = '{\"profile\": 1}'::jsonb"),
        "the old worker's row records its handler and version");
    assertEquals(
        1,
        Sql.count(ds, "SELECT count(*) FROM loomwork_worker WHERE handlers = '{\"profile\": 2}'::jsonb"),
        "and the new one's");

    // The deploy is under way: the new release enqueues new payloads, old processes still enqueue
    // old ones, and both workers claim.
    Set<String> newIds = new HashSet<>();
    Set<String> oldIds = new HashSet<>();
    try (Connection c = ds.getConnection()) {
      for (int i = 0; i < EACH; i++) {
        newIds.add(Long.toString(store.enqueue(c, QUEUE, Task.of(VersionedWorkerMain.NEW, i))));
        oldIds.add(Long.toString(store.enqueue(c, QUEUE, Task.of(VersionedWorkerMain.OLD, i))));
      }
    }
    Sql.awaitTrue(
        ds, "SELECT count(*) = ? FROM loomwork_task WHERE state IN ('succeeded', 'failed', 'cancelled')",
        2L * EACH);

    assertEquals(0, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state <> 'succeeded'"),
        "every task succeeded, none failed: old " + old.lines() + "\nnew " + neu.lines());
    assertEquals(EACH, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE version = 2"));
    assertEquals(2L * EACH, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE attempt = 1"),
        "each in one attempt");
    Set<String> byOld = ids(old.starts());
    Set<String> byNew = ids(neu.starts());
    assertTrue(byOld.stream().noneMatch(newIds::contains), "the old worker started no new payload: " + byOld);
    assertTrue(byNew.containsAll(newIds), "the new worker ran every new payload");
    Set<String> all = new HashSet<>(byOld);
    all.addAll(byNew);
    assertTrue(all.containsAll(oldIds), "the old payloads ran, on either worker");
    assertTrue(old.lines().stream().noneMatch(l -> l.startsWith("failed ")), String.join("\n", old.lines()));
    neu.drain();

    // The new worker is gone for a while: the old one keeps running old payloads and leaves a new
    // one ready, never failing it, until a worker that reads it comes.
    long waiting = store.enqueue(QUEUE, Task.of(VersionedWorkerMain.NEW, 1_000));
    List<String> more = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      more.add(Long.toString(store.enqueue(QUEUE, Task.of(VersionedWorkerMain.OLD, 1_000 + i))));
    }
    for (String id : more) {
      old.await(line -> line.equals("ok " + id));
    }
    assertEquals(
        1,
        Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE id = ? AND state = 'ready' AND attempt = 0", waiting),
        "the new payload waits, unclaimed, while only the old worker runs");
    Worker next = start(2);
    next.await(line -> line.equals("ok " + waiting));
    assertEquals(List.of("start " + waiting + " v2"), next.starts());
    old.drain();
    next.drain();
    assertTrue(old.starts().stream().noneMatch(l -> l.startsWith("start " + waiting + " ")));
    assertEquals(0, Sql.count(ds, "SELECT count(*) FROM loomwork_task WHERE state <> 'succeeded'"));
  }

  private static Set<String> ids(List<String> starts) {
    Set<String> ids = new HashSet<>();
    for (String line : starts) {
      ids.add(line.split(" ")[1]);
    }
    return ids;
  }

  private Worker start(int version) throws IOException, InterruptedException {
    Worker w = new Worker(
        ChildJvm.start(List.of("-Xmx256m"), VersionedWorkerMain.class, url, QUEUE, Integer.toString(version)));
    workers.add(w);
    w.await(line -> line.equals("ready"));
    return w;
  }
}
