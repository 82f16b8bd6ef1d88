package dev.loomwork.spring;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static dev.loomwork.TestTimeouts.PROCESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.postgres.PostgresExtension;
import dev.loomwork.postgres.UrlDataSource;
import dev.loomwork.spring.app.SpringTestApp;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code SIGTERM} to a child JVM running a real Spring Boot application ({@link SpringTestApp}: its
 * web server on 127.0.0.1, graceful shutdown, a memory queue and a durable queue on the embedded
 * PostgreSQL), with long tasks running in both queues: the web server stops taking requests first,
 * then the queues drain within {@code spring.lifecycle.timeout-per-shutdown-phase} and the cut is
 * reported, and the durable queue gives the tasks it cut back to the database, claimable at once.
 * The child runs in this JVM's runner mode.
 */
@ExtendWith(PostgresExtension.class)
class SpringShutdownTest {
  /** The lifecycle's phase timeout: the queues drain for it less abandon-after (1 s) and a second. */
  static final long PHASE_MILLIS = 5_000;

  final String url;
  Child child;

  SpringShutdownTest(DataSource ds) {
    this.url = ((UrlDataSource) ds).url(); // the class's database, migrated
  }

  @AfterEach
  void kill() {
    if (child != null) {
      child.process.destroyForcibly();
    }
  }

  @Test
  void sigtermStopsTheWebServerThenDrainsTheQueuesAndReleasesTheDurableCut() throws Exception {
    child = Child.launch(
        SpringTestApp.class.getName(),
        "--spring.main.banner-mode=off",
        "--logging.level.org.springframework.boot=INFO", // the graceful shutdown's lines (the tests' root level is WARN)
        "--spring.datasource.url=" + url,
        "--server.address=127.0.0.1",
        "--server.port=0",
        "--server.shutdown=graceful",
        "--spring.lifecycle.timeout-per-shutdown-phase=" + PHASE_MILLIS + "ms",
        "--loomwork.queues.hooks.durable=true",
        "--loomwork.store.poll-interval=100ms");
    String portLine = child.await(l -> l.startsWith("loomwork-test: port "));
    int port = Integer.parseInt(portLine.substring("loomwork-test: port ".length()).trim());

    List<String> hooks = List.of("slow600000-a", "slow600000-b");
    List<String> naps = List.of("a600000", "b600000");
    try (HttpClient http = HttpClient.newBuilder().connectTimeout(GENEROUS).build()) {
      for (String h : hooks) {
        post(http, port, "/hooks?what=" + h);
      }
      for (String n : naps) {
        post(http, port, "/naps?what=" + n);
      }
    }
    for (String h : hooks) {
      child.await(l -> l.equals("loomwork-test: hook " + h + " started"));
    }
    for (String n : naps) {
      child.await(l -> l.equals("loomwork-test: nap " + n + " started"));
    }
    try (Connection c = DriverManager.getConnection(url)) {
      assertEquals(2, count(c, "SELECT count(*) FROM loomwork_task WHERE queue = 'hooks' AND state = 'running'"));
    }

    // SIGTERM. Through the handle: Process.destroy() sends it too, but closes the output the test reads.
    assertTrue(child.process.toHandle().destroy(), "SIGTERM sent");
    assertTrue(child.process.waitFor(PROCESS.toSeconds(), TimeUnit.SECONDS), "the application exits");
    List<String> log = child.lines();
    String all = String.join("\n", log);
    assertEquals(143, child.process.exitValue(), "ended by SIGTERM after its shutdown hooks:\n" + all);

    int graceful = index(log, "Commencing graceful shutdown", all);
    int requestsDone = index(log, "Graceful shutdown complete", all);
    int draining = index(log, "loomwork: draining 2 queue(s)", all);
    int cut = index(log, "loomwork: queue 'email' cut at shutdown after", all);
    int released = index(log, "loomwork: queue 'hooks' handed back 2 task(s) to the store", all);
    int complete = index(log, "loomwork: shutdown complete", all);
    assertTrue(graceful < requestsDone, all);
    assertTrue(requestsDone < draining, "the web server stopped taking requests before the queues drain:\n" + all);
    assertTrue(draining < cut && draining < released, all);
    assertTrue(cut < complete && released < complete, "the cut is reported before the end:\n" + all);
    for (String n : naps) {
      assertTrue(
          log.stream().anyMatch(l -> l.contains("loomwork: cut {") && l.contains(n)),
          "the re-queue line of " + n + ":\n" + all);
      assertTrue(log.stream().noneMatch(l -> l.equals("loomwork-test: nap " + n + " ended")), all);
    }

    Matcher m = Pattern.compile("cut at shutdown after (\\d+) ms").matcher(log.get(cut));
    assertTrue(m.find(), log.get(cut));
    long drainedFor = Long.parseLong(m.group(1));
    assertTrue(drainedFor <= PHASE_MILLIS, "drained within the phase timeout: " + drainedFor + " ms");
    Matcher d = Pattern.compile("within PT(\\d+)S").matcher(log.get(draining));
    assertTrue(d.find(), log.get(draining));
    assertEquals(3, Long.parseLong(d.group(1)), "the phase less abandon-after and a second: " + log.get(draining));

    try (Connection c = DriverManager.getConnection(url)) {
      assertEquals(
          2,
          count(c, "SELECT count(*) FROM loomwork_task WHERE queue = 'hooks' AND state = 'ready'"
              + " AND owner IS NULL AND attempt = 0 AND run_at <= now()"),
          "the durable queue gave its cut tasks back, claimable at once, their attempt given back");
      assertEquals(0, count(c, "SELECT count(*) FROM loomwork_worker"), "its worker row is gone");
    }
  }

  static void post(HttpClient http, int port, String path) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(GENEROUS)
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), path + ": " + r.body());
  }

  static long count(Connection c, String sql) throws Exception {
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }

  static int index(List<String> log, String part, String all) {
    for (int i = 0; i < log.size(); i++) {
      if (log.get(i).contains(part)) {
        return i;
      }
    }
    throw new AssertionError("no line with '" + part + "' in the application's log:\n" + all);
  }

  /** A child JVM on this test's class path and runner mode, and its output (stdout and stderr) as lines. */
  static final class Child {
    final Process process;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition grew = lock.newCondition();
    private final List<String> lines = new ArrayList<>(); // guarded by lock
    private boolean ended; // guarded by lock

    private Child(Process process) {
      this.process = process;
      Thread.ofVirtual().start(this::read);
    }

    /** Starts {@code main} with {@code args}, with {@code --enable-preview} when this JVM has it. */
    static Child launch(String main, String... args) throws IOException {
      List<String> command = new ArrayList<>();
      command.add(ProcessHandle.current().info().command().orElseThrow());
      List<String> jvmArgs = ProcessHandle.current().info().arguments().map(List::of).orElse(List.of());
      if (jvmArgs.contains("--enable-preview") || "structured".equals(System.getProperty("loomwork.expectedRunner"))) {
        command.add("--enable-preview");
      }
      command.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"), main));
      command.addAll(List.of(args));
      return new Child(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    private void read() {
      try (BufferedReader r =
          new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          add(line);
        }
      } catch (IOException e) {
        add("(output failed: " + e + ")");
      } finally {
        lock.lock();
        try {
          ended = true;
          grew.signalAll();
        } finally {
          lock.unlock();
        }
      }
    }

    private void add(String line) {
      lock.lock();
      try {
        lines.add(line);
        grew.signalAll();
      } finally {
        lock.unlock();
      }
    }

    /** Waits for a line that matches and returns it; fails if the output ends first or after {@code PROCESS}. */
    String await(Predicate<String> match) throws InterruptedException {
      long nanos = PROCESS.toNanos();
      lock.lock();
      try {
        for (int seen = 0; ; ) {
          for (; seen < lines.size(); seen++) {
            if (match.test(lines.get(seen))) {
              return lines.get(seen);
            }
          }
          if (ended) {
            throw new AssertionError("the application's output ended without the line:\n" + String.join("\n", lines));
          }
          if (nanos <= 0) {
            throw new AssertionError("no such line within " + PROCESS + ":\n" + String.join("\n", lines));
          }
          nanos = grew.awaitNanos(nanos);
        }
      } finally {
        lock.unlock();
      }
    }

    /** The whole output, once the process closed it. */
    List<String> lines() throws InterruptedException {
      awaitEnd();
      lock.lock();
      try {
        return List.copyOf(lines);
      } finally {
        lock.unlock();
      }
    }

    /** Waits until the output ended (the process closed it); fails after {@code PROCESS}. */
    void awaitEnd() throws InterruptedException {
      long nanos = PROCESS.toNanos();
      lock.lock();
      try {
        while (!ended) {
          if (nanos <= 0) {
            throw new AssertionError("the output did not end within " + PROCESS);
          }
          nanos = grew.awaitNanos(nanos);
        }
      } finally {
        lock.unlock();
      }
    }
  }
}
