package dev.loomwork.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.loomwork.TaskState;
import dev.loomwork.admin.PageRequest;
import dev.loomwork.admin.StoreAdmin;
import dev.loomwork.admin.TaskDetail;
import dev.loomwork.admin.TaskFilter;
import dev.loomwork.admin.TaskPage;
import dev.loomwork.postgres.PostgresStore;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The admin's reads on a large store: {@code 10 × tasks} ended and {@code tasks} ready tasks
 * ({@link DurableAdminSeed}; 1,000,000 and 100,000 by default, fewer in quick mode), what an
 * operator's console asks for. Each call borrows a connection of a HikariCP pool, as the console
 * does. Score: the time of one call, sampled ({@code SampleTime}: p50 and p99 in the JSON).
 *
 * <ul>
 *   <li>{@link #page_queueStateHandler}: the newest 50 failed tasks of one queue and one handler
 *       ({@code email}, {@code email.render}: 1 in 40 of the queue's ended tasks, about 3,100);
 *   <li>{@link #page_queueStateHandlerNext}: the page after it, by its keyset cursor;
 *   <li>{@link #page_stateAnyQueue}: the newest 50 failed tasks of every queue (a loose index scan
 *       finds the queues);
 *   <li>{@link #page_errorText}: the newest 50 failed tasks of one queue whose last error contains
 *       a text (a quarter of them do);
 *   <li>{@link #task_detail}: one failed task in full, with its three attempts and their errors,
 *       drawn in turn from 1,000 failed tasks spread over the table.
 * </ul>
 *
 * Each page is checked to be full at setup (so none measures an empty answer).
 */
@State(Scope.Benchmark)
@Fork(
    value = 1,
    jvmArgs = {
      "--enable-preview",
      "--sun-misc-unsafe-memory-access=allow",
      "-Dbench.runner=structured",
      "-Xms1g",
      "-Xmx1g",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
    })
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Threads(1)
public class DurableAdmin {

  /** Ready tasks in the store; ten times as many ended ones (quick mode passes fewer). */
  @Param({"100000"})
  public int tasks;

  static final PageRequest PAGE = PageRequest.newestFirst(50);

  static final TaskFilter QUEUE_STATE_HANDLER =
      TaskFilter.all().withQueue("email").withStates(TaskState.FAILED).withHandler("email.render");

  static final TaskFilter STATE = TaskFilter.all().withStates(TaskState.FAILED);

  static final TaskFilter ERROR_TEXT =
      TaskFilter.all().withQueue("email").withStates(TaskState.FAILED).withErrorContains("timed out");

  HikariDataSource pool;
  StoreAdmin admin;
  String next;
  long[] failedIds;
  int turn;

  @Setup(Level.Trial)
  public void seed(DurableServer server) throws SQLException {
    server.reset();
    DurableAdminSeed.seed(server, 10 * tasks, tasks);
    pool = server.pool("admin", 4);
    admin = PostgresStore.of(pool).admin();
    for (TaskFilter f : List.of(QUEUE_STATE_HANDLER, STATE, ERROR_TEXT)) {
      TaskPage page = admin.list(f, PAGE);
      if (page.tasks().size() != PAGE.size() || !page.hasNext()) {
        throw new IllegalStateException(f + ": " + page.tasks().size() + " tasks, not a full page with a next one");
      }
    }
    next = admin.list(QUEUE_STATE_HANDLER, PAGE).next();
    // Full in the full seed; quick mode's seed may hold fewer than two pages.
    if (admin.list(QUEUE_STATE_HANDLER, PAGE.after(next)).tasks().isEmpty()) {
      throw new IllegalStateException("the second page is empty");
    }
    List<Long> ids = new ArrayList<>();
    try (Connection c = server.admin();
        Statement s = c.createStatement();
        ResultSet r =
            s.executeQuery("SELECT id FROM loomwork_task WHERE state = 'failed' ORDER BY random() LIMIT 1000")) {
      while (r.next()) {
        ids.add(r.getLong(1));
      }
    }
    failedIds = ids.stream().mapToLong(Long::longValue).toArray();
    TaskDetail sample = admin.task(failedIds[0]).orElseThrow();
    if (sample.attempts().size() != 3 || sample.payloadJson() == null) {
      throw new IllegalStateException("a failed task's detail: " + sample);
    }
  }

  @TearDown(Level.Trial)
  public void closePool() {
    pool.close();
  }

  @Benchmark
  public TaskPage page_queueStateHandler() throws SQLException {
    return admin.list(QUEUE_STATE_HANDLER, PAGE);
  }

  @Benchmark
  public TaskPage page_queueStateHandlerNext() throws SQLException {
    return admin.list(QUEUE_STATE_HANDLER, PAGE.after(next));
  }

  @Benchmark
  public TaskPage page_stateAnyQueue() throws SQLException {
    return admin.list(STATE, PAGE);
  }

  @Benchmark
  public TaskPage page_errorText() throws SQLException {
    return admin.list(ERROR_TEXT, PAGE);
  }

  @Benchmark
  public TaskDetail task_detail() throws SQLException {
    long id = failedIds[turn++ % failedIds.length];
    return admin.task(id).orElseThrow();
  }
}
