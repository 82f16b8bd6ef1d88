package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.ChildJvm;
import dev.loomwork.RecurringTask;
import dev.loomwork.Schedule;
import dev.loomwork.WorkQueue;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Three worker processes (child JVMs running {@link RecurringWorkerMain}, in this JVM's runner mode)
 * on one database, with a one-second recurring task, for about 30 s; one of them is killed with
 * SIGKILL half way. Every tick from the first to the last becomes exactly one task, none is lost and
 * none doubled, and each runs once, except a task running in the killed process, which the rescue
 * runs once more.
 */
@ExtendWith(PostgresExtension.class)
class RecurringProcessTest {
  final DataSource ds;
  final String url;
  final List<DurableProcessTest.Worker> workers = new ArrayList<>();

  RecurringProcessTest(DataSource ds) {
    this.ds = ds;
    this.url = ((UrlDataSource) ds).url();
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker, loomwork_schedule");
  }

  @AfterEach
  void killWorkers() {
    for (DurableProcessTest.Worker w : workers) {
      w.process.destroyForcibly();
    }
  }

  DurableProcessTest.Worker start(String queue) throws IOException, InterruptedException {
    DurableProcessTest.Worker w =
        new DurableProcessTest.Worker(ChildJvm.start(List.of("-Xmx256m"), RecurringWorkerMain.class, url, queue,
            Long.toString(DurableProcessTest.LEASE_MILLIS), Long.toString(DurableProcessTest.RESCUE_MILLIS)));
    workers.add(w);
    w.await(line -> line.equals("ready"));
    return w;
  }

  static final String TICKS =
      "SELECT count(*) >= ? FROM loomwork_task WHERE queue = 'every-second' AND state = 'succeeded'";

  @Test
  void everyTickRunsExactlyOnceAcrossThreeProcessesOneOfThemKilled() throws Exception {
    DurableProcessTest.Worker a = start("every-second");
    DurableProcessTest.Worker b = start("every-second");
    DurableProcessTest.Worker c = start("every-second");
    Sql.awaitTrue(ds, TICKS, 15L);
    a.signal("KILL");
    a.process.waitFor();
    Sql.awaitTrue(ds, TICKS, 30L);
    // Stop the schedule from here (a queue that is never started acts on the store), then drain.
    WorkQueue admin =
        WorkQueue.builder("every-second")
            .store(PostgresStore.of(ds))
            .handle(DurableQueueTest.JOB, (ctx, p) -> {})
            .recurring(RecurringTask.of("tick", Schedule.fixedRate(Duration.ofSeconds(1)), DurableQueueTest.JOB, 0))
            .build();
    assertTrue(admin.recurring().pause("tick"));
    Sql.awaitTrue(ds, "SELECT count(*) = 0 FROM loomwork_task WHERE queue = 'every-second' AND state IN ('ready', 'running')");
    b.drain();
    c.drain();

    List<String> keys = new ArrayList<>();
    List<Instant> ticks = new ArrayList<>();
    try (var conn = ds.getConnection();
        var r =
            conn.createStatement()
                .executeQuery(
                    "SELECT unique_key, state FROM loomwork_task WHERE queue = 'every-second' ORDER BY unique_key")) {
      while (r.next()) {
        keys.add(r.getString(1));
        assertEquals("succeeded", r.getString(2), r.getString(1));
        ticks.add(Instant.parse(r.getString(1).substring("loomwork.schedule:tick@".length())));
      }
    }
    assertEquals(keys.size(), new HashSet<>(keys).size(), "no tick has two tasks");
    ticks.sort(null);
    for (int i = 1; i < ticks.size(); i++) {
      assertEquals(
          Duration.ofSeconds(1), Duration.between(ticks.get(i - 1), ticks.get(i)), "no tick lost before " + ticks.get(i));
    }
    assertTrue(ticks.size() >= 30, ticks.size() + " ticks");

    // Starts per tick: one, or two for a task the killed process was running (rescued).
    Map<String, Integer> starts = new HashMap<>();
    Map<String, Integer> inA = new HashMap<>();
    for (DurableProcessTest.Worker w : List.of(a, b, c)) {
      for (String line : w.lines()) {
        if (line.startsWith("start ")) {
          String tick = line.split(" ")[1];
          starts.merge(tick, 1, Integer::sum);
          if (w == a) {
            inA.merge(tick, 1, Integer::sum);
          }
        }
      }
    }
    Set<String> rescued = new HashSet<>();
    for (long id : Sql.longs(ds, "SELECT id FROM loomwork_task WHERE last_error ->> 'type' LIKE '%WorkerLost'")) {
      rescued.add(Long.toString(id));
    }
    List<String> unstarted = ticks.stream().map(Instant::toString).filter(t -> !starts.containsKey(t)).toList();
    assertEquals(
        ticks.size(),
        starts.size(),
        () -> "every tick's task started; none in " + unstarted + "; starts by tick " + starts);
    starts.forEach(
        (tick, n) ->
            assertTrue(n == 1 || (n == 2 && inA.containsKey(tick) && !rescued.isEmpty()), tick + " started " + n + " times"));
    System.out.printf(
        "recurring: %d ticks from %s to %s, %d rescued, started by a/b/c: %d/%d/%d%n",
        ticks.size(), ticks.getFirst(), ticks.getLast(), rescued.size(), a.starts().size(), b.starts().size(),
        c.starts().size());
  }
}
