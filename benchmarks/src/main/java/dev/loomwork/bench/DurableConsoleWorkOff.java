package dev.loomwork.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.loomwork.ShutdownReport;
import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import dev.loomwork.WorkQueueListener;
import dev.loomwork.console.Console;
import dev.loomwork.postgres.PostgresStore;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
 * What a console watching the store costs the workers: {@link DurableWorkOff}'s work-off of {@code
 * tasks} no-op tasks (concurrency {@value DurableWorkOff#CONCURRENCY}, a pool of {@value
 * DurableWorkOff#POOL} connections), on a store that also holds the week of history of {@link
 * DurableAdminSeed} ({@code 10 × tasks} ended and {@code tasks} ready tasks in other queues), with
 * and without a {@link Console}. The parameter {@code console}:
 *
 * <ul>
 *   <li>{@code off}: no console;
 *   <li>{@code on}: a console on the same store (its admin borrows from the same pool as the queue),
 *       started on 127.0.0.1 and port 0, whose queues page, the work-off queue's tasks page and the
 *       workers page are each fetched every second by an HTTP client, as a browser's refresh does
 *       (the live part only, {@code X-Loomwork-Fragment: live}), for the whole trial.
 * </ul>
 *
 * The backlog is inserted before each iteration (untimed: the last iteration's rows deleted, {@code
 * VACUUM}, one {@code INSERT ... SELECT generate_series}, {@code ANALYZE}, {@code CHECKPOINT}), and
 * the iteration is the time until every task has succeeded. Score: milliseconds per backlog;
 * compare {@code on} with {@code off} of the same run. The teardowns check that every task ran once
 * and, with the console, that its pages answered, all of them with 200 (each iteration prints how
 * many it fetched and how long they took).
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
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 8)
@Threads(1)
public class DurableConsoleWorkOff {

  static final String QUEUE = "workoff";

  /** Whether a console watches the store while it works: {@code on} or {@code off}. */
  @Param({"off", "on"})
  public String console;

  /** Tasks in each iteration's backlog, and the seed's ready tasks; ten times as many ended ones. */
  @Param({"100000"})
  public int tasks;

  HikariDataSource pool;
  PostgresStore store;
  Console web;
  ScheduledExecutorService browser;
  final AtomicLong fetched = new AtomicLong();
  final AtomicLong fetchNanos = new AtomicLong();
  final AtomicReference<Throwable> fetchFailure = new AtomicReference<>();
  long fetchedBefore;
  long fetchNanosBefore;
  Plan plan;
  WorkQueue queue;

  @Setup(Level.Trial)
  public void start(DurableServer server) throws SQLException, IOException {
    boolean on =
        switch (console) {
          case "on" -> true;
          case "off" -> false;
          default -> throw new IllegalArgumentException("console: " + console + " (expected: on or off)");
        };
    server.reset();
    DurableAdminSeed.seed(server, 10 * tasks, tasks);
    pool = server.pool("workoff", DurableWorkOff.POOL);
    store = PostgresStore.of(pool);
    if (on) {
      web = Console.builder().admin(store.admin()).refresh(Duration.ofSeconds(1)).build().start();
      HttpClient client = HttpClient.newHttpClient();
      URI base = web.uri();
      List<URI> pages =
          List.of(base, base.resolve("tasks?src=0&queue=" + QUEUE), base.resolve("workers"));
      browser = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("browser").factory());
      browser.scheduleAtFixedRate(() -> fetch(client, pages), 0, 1, TimeUnit.SECONDS);
    }
  }

  /** One refresh of every page; a failure is kept for the teardown to throw. */
  private void fetch(HttpClient client, List<URI> pages) {
    for (URI page : pages) {
      try {
        long t0 = System.nanoTime();
        HttpResponse<String> r =
            client.send(
                HttpRequest.newBuilder(page).header("X-Loomwork-Fragment", "live").build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
          throw new IllegalStateException(page + " answered " + r.statusCode() + ": " + r.body());
        }
        fetchNanos.addAndGet(System.nanoTime() - t0);
        fetched.incrementAndGet();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (IOException | RuntimeException e) {
        fetchFailure.compareAndSet(null, e);
      }
    }
  }

  @TearDown(Level.Trial)
  public void stop() throws InterruptedException {
    if (browser != null) {
      browser.shutdownNow();
      browser.awaitTermination(1, TimeUnit.MINUTES);
    }
    if (web != null) {
      web.close();
    }
    pool.close();
    if (web != null && fetched.get() == 0) {
      throw new IllegalStateException("the console served no page during the trial");
    }
  }

  /** The backlog, after the last iteration's rows are gone, and a fresh queue. Untimed. */
  @Setup(Level.Iteration)
  public void insertBacklog(DurableServer server) throws SQLException {
    server.exec(
        "DELETE FROM loomwork_task WHERE queue = '" + QUEUE + "'",
        "DELETE FROM loomwork_worker",
        "VACUUM loomwork_task",
        "INSERT INTO loomwork_task (queue, handler, payload, max_attempts)"
            + " SELECT '" + QUEUE + "', 'noop', to_jsonb(i), 1 FROM generate_series(0, " + (tasks - 1) + ") AS i",
        "ANALYZE loomwork_task",
        "CHECKPOINT");
    plan = Plan.allSucceed(tasks);
    Plan p = plan;
    queue =
        WorkQueue.builder(QUEUE)
            .store(store)
            .concurrency(DurableWorkOff.CONCURRENCY)
            .handle(DurableServer.NOOP, (ctx, i) -> p.attempt(i))
            .listener(
                new WorkQueueListener() {
                  @Override
                  public void onSucceeded(Task<?> task) {
                    p.succeeded();
                  }

                  @Override
                  public void onFailed(Task<?> task, Throwable error) {
                    p.gaveUp(error);
                  }
                })
            .build();
    fetchedBefore = fetched.get();
    fetchNanosBefore = fetchNanos.get();
  }

  /** Every task ran once, the store says so, and the console answered meanwhile. Untimed. */
  @TearDown(Level.Iteration)
  public void check(DurableServer server) throws SQLException {
    plan.verify();
    long done =
        server.count(
            "SELECT count(*) FROM loomwork_task WHERE queue = '" + QUEUE + "' AND state = 'succeeded' AND attempt = 1");
    if (done != tasks) {
      throw new IllegalStateException(done + " tasks succeeded at attempt 1; expected " + tasks);
    }
    if (fetchFailure.get() != null) {
      throw new IllegalStateException("the console failed a page", fetchFailure.get());
    }
    if (web != null) {
      long n = fetched.get() - fetchedBefore;
      System.out.printf(
          "%n[console] %d pages fetched during the iteration, %.1f ms each on average%n",
          n, n == 0 ? 0.0 : (fetchNanos.get() - fetchNanosBefore) / 1e6 / n);
    }
  }

  @Benchmark
  public void workOff() throws InterruptedException {
    queue.start();
    plan.awaitAndVerify();
    ShutdownReport report = queue.shutdown(DurableWorkOff.SHUTDOWN);
    if (!report.cancelled().isEmpty() || !report.abandoned().isEmpty() || !queue.isTerminated()) {
      throw new IllegalStateException(
          "the durable queue did not finish writing its outcomes within " + DurableWorkOff.SHUTDOWN + ": " + queue
              + ", " + report);
    }
  }
}
