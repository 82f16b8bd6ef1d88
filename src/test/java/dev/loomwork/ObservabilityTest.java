package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.loomwork.QueueFixture.Background;
import dev.loomwork.QueueFixture.Blocker;
import dev.loomwork.RecordingListener.RetryScheduled;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.distribution.pause.PauseDetector;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.OutputStream;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Metrics scraped over real HTTP, drain progress in the log, and the JSON Lines report. */
class ObservabilityTest {
  @RegisterExtension final QueueFixture fx = new QueueFixture();

  @Test
  void prometheusScrapeShowsExactCountsInWellFormedExpositionFormat() throws Exception {
    // README:prometheus
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    WorkQueue queue = WorkQueue.builder("webhooks").meterRegistry(registry).build();

    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/metrics", exchange -> {
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", PrometheusTextFormatWriter.CONTENT_TYPE);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
    // README:end
    try {
      queue.start();
      List<Task<?>> tasks = runTheKnownWorkload(queue);
      String text = scrape(server);
      assertWellFormed(text);
      assertTheCountsOfTheKnownWorkload(text);
      for (Task<?> task : tasks) {
        assertTrue(task.isDone());
      }
    } finally {
      server.stop(0);
      queue.shutdownNow();
    }
  }

  /** 6 tasks succeed, 3 fail once then succeed, 1 fails both of its attempts; 1 is refused. */
  private static List<Task<?>> runTheKnownWorkload(WorkQueue queue) {
    List<Task<?>> tasks = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      tasks.add(queue.submit(ctx -> {}));
    }
    for (int i = 0; i < 3; i++) {
      tasks.add(queue.enqueue(Task.of(ctx -> {
            if (ctx.attempt() == 1) {
              throw new IllegalStateException("once");
            }
          })
          .retries(2)
          .backoff(Backoff.none())));
    }
    tasks.add(queue.enqueue(Task.of(ctx -> {
          throw new IllegalStateException("always");
        })
        .retries(1)
        .backoff(Backoff.none())));
    queue.shutdown();
    assertThrows(RejectedExecutionException.class, () -> queue.submit(ctx -> {}));
    return tasks;
  }

  /** GETs /metrics over real HTTP; checks the status and the content type, returns the body. */
  private static String scrape(HttpServer server) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/metrics");
    HttpResponse<String> response;
    try (HttpClient client = HttpClient.newHttpClient()) {
      response = client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }
    assertEquals(200, response.statusCode());
    assertEquals(
        "text/plain; version=0.0.4; charset=utf-8",
        response.headers().firstValue("Content-Type").orElseThrow());
    return response.body();
  }

  private static void assertTheCountsOfTheKnownWorkload(String text) {
    String q = "queue=\"webhooks\"";
    assertEquals(10, value(text, "loomwork_tasks_submitted_total", q));
    assertEquals(9, value(text, "loomwork_tasks_completed_total", q, "outcome=\"succeeded\""));
    assertEquals(1, value(text, "loomwork_tasks_completed_total", q, "outcome=\"failed\""));
    assertEquals(0, value(text, "loomwork_tasks_completed_total", q, "outcome=\"cancelled\""));
    assertEquals(9, value(text, "loomwork_attempts_total", q, "outcome=\"succeeded\""));
    assertEquals(5, value(text, "loomwork_attempts_total", q, "outcome=\"failed\""));
    assertEquals(0, value(text, "loomwork_attempts_total", q, "outcome=\"timed_out\""));
    assertEquals(4, value(text, "loomwork_retries_total", q));
    assertEquals(1, value(text, "loomwork_tasks_rejected_total", q));
    assertEquals(0, value(text, "loomwork_tasks_ready", q));
    assertEquals(0, value(text, "loomwork_tasks_running", q));
    assertEquals(0, value(text, "loomwork_tasks_waiting", q));
    assertEquals(10, value(text, "loomwork_task_wait_seconds_count", q));
    assertEquals(14, value(text, "loomwork_attempt_duration_seconds_count", q));
    // Buckets resolve 1 ms to 10 min, and the +Inf bucket holds every observation.
    assertEquals(14, value(text, "loomwork_attempt_duration_seconds_bucket", q, "le=\"+Inf\""));
    double fastest = value(text, "loomwork_attempt_duration_seconds_bucket", q, "le=\"0.001\"");
    assertTrue(fastest >= 0 && fastest <= 14, () -> "le=0.001: " + fastest);
    assertEquals(10, value(text, "loomwork_task_wait_seconds_bucket", q, "le=\"600.0\""));
    // Between 10 s and 1 min the buckets are dense enough for a p99 there to mean something.
    for (String le : List.of("10.0", "15.0", "20.0", "30.0", "45.0", "60.0")) {
      assertEquals(10, value(text, "loomwork_task_wait_seconds_bucket", q, "le=\"" + le + "\""), le);
    }
    for (String type : List.of(
        "# TYPE loomwork_tasks_submitted_total counter",
        "# TYPE loomwork_tasks_ready gauge",
        "# TYPE loomwork_attempt_duration_seconds histogram")) {
      assertTrue(text.contains(type), () -> "missing '" + type + "' in\n" + text);
    }
  }

  /** Every line is a comment (HELP or TYPE) or a sample; a TYPE precedes each family's samples. */
  private static void assertWellFormed(String text) {
    Pattern sample = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"(\\\\.|[^\"\\\\])*\",?)*\\})? (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)");
    Pattern type = Pattern.compile("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
    Map<String, String> types = new HashMap<>();
    assertTrue(text.endsWith("\n"), "exposition ends with a newline");
    for (String line : text.split("\n")) {
      if (line.startsWith("# HELP ")) {
        continue;
      }
      Matcher t = type.matcher(line);
      if (t.matches()) {
        types.put(t.group(1), t.group(2));
        continue;
      }
      Matcher s = sample.matcher(line);
      assertTrue(s.matches(), () -> "not a valid exposition line: " + line);
      String name = s.group(1);
      boolean typed = types.keySet().stream().anyMatch(family -> name.equals(family)
          || name.equals(family + "_total") || name.startsWith(family + "_"));
      assertTrue(typed, () -> "sample before its # TYPE line: " + line);
    }
  }

  /** The value of the one sample of {@code name} whose labels include all of {@code labels}. */
  private static double value(String text, String name, String... labels) {
    List<Double> found = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (!line.startsWith(name + "{")) {
        continue;
      }
      String labelSet = line.substring(name.length() + 1, line.indexOf('}'));
      List<String> have = List.of(labelSet.split(","));
      if (have.containsAll(List.of(labels))) {
        found.add(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
      }
    }
    assertEquals(1, found.size(), () -> "samples of " + name + List.of(labels) + " in\n" + text);
    return found.getFirst();
  }

  /** A registry whose timers throw from every record call. */
  private static SimpleMeterRegistry registryWithBrokenTimers() {
    return new SimpleMeterRegistry() {
      @Override
      protected Timer newTimer(Meter.Id id, DistributionStatisticConfig config, PauseDetector pauses) {
        Timer real = super.newTimer(id, config, pauses);
        return (Timer) Proxy.newProxyInstance(
            Timer.class.getClassLoader(), new Class<?>[] {Timer.class}, (proxy, method, args) -> {
              if (method.getName().equals("record")) {
                throw new IllegalStateException("registry is broken");
              }
              return method.invoke(real, args);
            });
      }
    };
  }

  @Test
  void aRegistryThatThrowsDoesNotHarmTheQueueAndIsLoggedOncePerKind() throws Exception {
    SimpleMeterRegistry failing = registryWithBrokenTimers();
    try (LogCapture log = new LogCapture()) {
      WorkQueue queue = fx.started(WorkQueue.builder("broken-metrics").meterRegistry(failing));
      List<Task<String>> tasks = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        tasks.add(queue.submitJob(ctx -> "fine"));
      }
      for (Task<String> task : tasks) {
        assertEquals("fine", task.await(GENEROUS));
      }
      queue.shutdown();
      assertEquals(20, queue.stats().succeeded());
      assertEquals(20.0, failing.get("loomwork.tasks.completed").tag("outcome", "succeeded").functionCounter().count());
      List<String> warnings = log.messages(Level.WARN, m -> m.contains("meter registry threw"));
      // One WARN per meter that failed (the wait and the attempt timers), not one per task.
      assertEquals(2, warnings.size(), warnings::toString);
      assertTrue(warnings.stream().anyMatch(m -> m.contains("loomwork.task.wait")), warnings::toString);
      assertTrue(warnings.stream().anyMatch(m -> m.contains("loomwork.attempt.duration")), warnings::toString);
    }
  }

  @Test
  void aRegistryThatRefusesRegistrationLeavesTheQueueRunningWithoutMetrics() throws Exception {
    SimpleMeterRegistry refusing = new SimpleMeterRegistry() {
      @Override
      protected Timer newTimer(Meter.Id id, DistributionStatisticConfig config, PauseDetector pauses) {
        throw new UnsupportedOperationException("no timers here");
      }
    };
    try (LogCapture log = new LogCapture()) {
      WorkQueue queue = fx.started(WorkQueue.builder("refused-metrics").meterRegistry(refusing));
      assertEquals("ok", queue.submitJob(ctx -> "ok").await(GENEROUS));
      assertEquals(1, log.messages(Level.WARN, m -> m.contains("could not register its meters")).size());
    }
  }

  @Test
  void aDrainLogsProgressAtInfoAndAFinalLineWithTotals() throws Exception {
    try (LogCapture log = new LogCapture()) {
      WorkQueue queue =
          fx.started(WorkQueue.builder("draining").concurrency(1).progressInterval(Duration.ofMillis(20)));
      Blocker blocker = fx.blocker();
      queue.submit(blocker.work());
      queue.submit(ctx -> {});
      queue.submit(ctx -> {});
      blocker.awaitStarted();
      Background<Void> drain =
          fx.inBackground(
              "drain",
              () -> {
                queue.shutdown();
                return null;
              });
      List<String> progress =
          log.await(2, m -> m.startsWith("queue 'draining': draining for"), GENEROUS);
      assertTrue(progress.getFirst().endsWith("2 ready, 1 running, 0 waiting to retry"), progress::toString);
      blocker.release();
      drain.get();
      List<String> done = log.await(1, m -> m.startsWith("queue 'draining': drained in"), GENEROUS);
      assertTrue(done.getFirst().endsWith("3 succeeded, 0 failed, 0 cancelled"), done::toString);
      assertEquals(1, log.messages(Level.INFO, m -> m.startsWith("queue 'draining': shutting down with")).size());
    }
  }

  @Test
  void aCancellingShutdownDuringADrainLogsOneLastLineWithWhatItCut() throws Exception {
    try (LogCapture log = new LogCapture()) {
      WorkQueue queue = fx.started(WorkQueue.builder("cut-drain").concurrency(1));
      Blocker blocker = fx.blocker();
      queue.submit(blocker.work());
      queue.submit(ctx -> {});
      blocker.awaitStarted();
      Background<Void> drain = fx.inBackground("drain", () -> {
        queue.shutdown();
        return null;
      });
      log.await(1, m -> m.startsWith("queue 'cut-drain': shutting down with"), GENEROUS);
      ShutdownReport report = queue.shutdownNow(); // cuts the drain under way
      drain.get();
      assertEquals(2, report.cancelled().size(), report::toString);
      List<String> last = log.messages(Level.INFO, m -> m.startsWith("queue 'cut-drain': ")
          && (m.contains(" drained in ") || m.contains(" stopped in ")));
      assertEquals(1, last.size(), last::toString);
      assertTrue(last.getFirst().matches("queue 'cut-drain': stopped in \\d+ ms: 0 succeeded, 0 failed, 2 cancelled"
          + " by the shutdown, 0 abandoned"), last::toString);
    }
  }

  @Test
  void aCancellingShutdownOfADrainedQueueLogsNoSecondLastLine() throws Exception {
    try (LogCapture log = new LogCapture()) {
      WorkQueue queue = fx.started(WorkQueue.builder("drained-then-cut"));
      queue.submit(ctx -> {});
      queue.shutdown();
      ShutdownReport report = queue.shutdownNow();
      assertTrue(report.drained(), report::toString);
      queue.shutdownNow();
      List<String> last = log.messages(Level.INFO, m -> m.startsWith("queue 'drained-then-cut': ")
          && (m.contains(" drained in ") || m.contains(" stopped in ")));
      assertEquals(1, last.size(), last::toString);
      assertTrue(last.getFirst().contains(": drained in "), last::toString);
    }
  }

  @Test
  void theShutdownReportWritesJsonLinesThatParseBackWithHostileMessages() throws Exception {
    List<String> hostile = List.of(
        "quote \" and backslash \\ and slash /",
        "new\nline, carriage\rreturn, tab\t, form\ffeed, back\bspace",
        "nul \u0000 and unit separator \u001f and delete \u007f",
        "non-ASCII: héllo wörld, 日本語, Ελληνικά",
        "emoji outside the BMP: \uD83D\uDE80 and a lone surrogate \uD800",
        "line separators \u2028 \u2029 and right-to-left \u202Eevil",
        "{\"json\":\"injection\"}\n{\"queue\":\"fake\"}");
    RecordingListener events = new RecordingListener();
    WorkQueue queue = fx.started(WorkQueue.builder("json \"report\"").listener(events));
    for (int i = 0; i < hostile.size(); i++) {
      String message = hostile.get(i);
      queue.enqueue(Task.of(ctx -> {
            throw new IllegalStateException(message);
          })
          .named("task-" + i + " \"named\"\n")
          .retries(1)
          .backoff(Backoff.fixed(Duration.ofHours(1))));
    }
    queue.enqueue(Task.of(ctx -> {}).named("never-ran").delay(Duration.ofHours(2)));
    events.await(RetryScheduled.class, hostile.size());
    ShutdownReport report = queue.shutdownNow();

    Map<String, JsonNode> byTask = parseJsonLines(report.toJsonLines(), hostile.size() + 1);
    for (int i = 0; i < hostile.size(); i++) {
      JsonNode node = byTask.get("task-" + i + " \"named\"\n");
      assertEquals(hostile.get(i), node.get("errorMessage").asText(), "message " + i + " round-trips");
      assertEquals("java.lang.IllegalStateException", node.get("errorType").asText());
      assertEquals(1, node.get("attempts").asInt());
      Instant next = Instant.parse(node.get("nextAttemptAt").asText());
      assertTrue(next.isAfter(Instant.now().plus(Duration.ofMinutes(30))), next::toString);
    }
    JsonNode neverRan = byTask.get("never-ran");
    assertTrue(neverRan.get("errorType").isNull());
    assertTrue(neverRan.get("errorMessage").isNull());
    assertEquals(0, neverRan.get("attempts").asInt());
  }

  /**
   * Parses the report of a queue named {@code json "report"} whose {@code tasks} tasks were all
   * cancelled while waiting: checks each line, and returns them by task name.
   */
  private static Map<String, JsonNode> parseJsonLines(String jsonLines, int tasks) throws Exception {
    assertTrue(jsonLines.chars().allMatch(c -> c >= 0x20 && c < 0x7f || c == '\n'), "ASCII only");
    String[] lines = jsonLines.split("\n", -1);
    assertEquals(tasks + 1, lines.length, "one line per task, and a final newline");
    assertEquals("", lines[lines.length - 1]);
    ObjectMapper json = new ObjectMapper();
    Map<String, JsonNode> byTask = new HashMap<>();
    for (int i = 0; i < lines.length - 1; i++) {
      JsonNode node = json.readTree(lines[i]);
      assertEquals("json \"report\"", node.get("queue").asText());
      assertEquals("cancelled", node.get("outcome").asText());
      assertEquals("WAITING", node.get("state").asText());
      byTask.put(node.get("task").asText(), node);
    }
    return byTask;
  }

  @Test
  void theJsonLinesWriterServesAnyAppendableAndMarksAbandonedTasks() throws Exception {
    ObjectMapper json = new ObjectMapper();
    StringBuilder out = new StringBuilder();
    TaskSnapshot snapshot =
        new TaskSnapshot("q", "inst-7", "stuck", null, null, TaskState.RUNNING, 3, null, null);
    new ShutdownReport("q", "inst", Instant.EPOCH, 0, 0, List.of(), List.of(snapshot), Duration.ZERO)
        .writeJsonLines(out);
    JsonNode stuck = json.readTree(out.toString());
    assertEquals("abandoned", stuck.get("outcome").asText());
    assertEquals("1970-01-01T00:00:00Z", stuck.get("reportedAt").asText());
    assertEquals("inst", stuck.get("instance").asText());
    assertEquals("inst-7", stuck.get("id").asText());
    assertTrue(stuck.get("handler").isNull(), "a closure has no handler");
    assertTrue(stuck.get("payload").isNull(), "and no payload");
    assertEquals("RUNNING", stuck.get("state").asText());
    assertNull(stuck.get("nextAttemptAt").textValue());
  }
}
