package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.io.StringReader;
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
    assertEquals(1, value(text, "loomwork_tasks_rejected_total", q, "reason=\"shut_down\""));
    for (String reason : List.of("full", "duplicate")) {
      assertEquals(0, value(text, "loomwork_tasks_rejected_total", q, "reason=\"" + reason + "\""), reason);
    }
    assertFalse(
        text.contains("reason=\"interrupted\""),
        "a producer that gave up waiting for room is no refusal: the counter has no such series");
    assertEquals(0, value(text, "loomwork_tasks_ready", q));
    assertEquals(0, value(text, "loomwork_tasks_running", q));
    assertEquals(0, value(text, "loomwork_tasks_waiting", q));
    assertEquals(0, value(text, "loomwork_tasks_oldest_ready_age_seconds", q));
    assertEquals(WorkQueue.Builder.DEFAULT_CAPACITY, value(text, "loomwork_queue_capacity", q));
    assertEquals(WorkQueue.Builder.DEFAULT_CONCURRENCY, value(text, "loomwork_queue_concurrency", q));
    // The scrape comes after the shutdown: the terminated queue's meters keep their last values.
    for (QueueLifecycle state : QueueLifecycle.values()) {
      String tag = "state=\"" + state.name().toLowerCase(java.util.Locale.ROOT) + "\"";
      assertEquals(state == QueueLifecycle.TERMINATED ? 1 : 0, value(text, "loomwork_queue_state", q, tag), tag);
    }
    assertEquals(10, value(text, "loomwork_tasks_wait_seconds_count", q));
    // The attempt timer by outcome agrees with the attempt counter.
    String succeeded = "outcome=\"succeeded\"";
    String failed = "outcome=\"failed\"";
    assertEquals(9, value(text, "loomwork_attempts_duration_seconds_count", q, succeeded));
    assertEquals(5, value(text, "loomwork_attempts_duration_seconds_count", q, failed));
    assertEquals(0, value(text, "loomwork_attempts_duration_seconds_count", q, "outcome=\"timed_out\""));
    assertEquals(0, value(text, "loomwork_attempts_duration_seconds_count", q, "outcome=\"cancelled\""));
    // Buckets resolve 1 ms to 10 min, and the +Inf bucket holds every observation.
    assertEquals(9, value(text, "loomwork_attempts_duration_seconds_bucket", q, succeeded, "le=\"+Inf\""));
    assertEquals(5, value(text, "loomwork_attempts_duration_seconds_bucket", q, failed, "le=\"+Inf\""));
    double fastest = value(text, "loomwork_attempts_duration_seconds_bucket", q, succeeded, "le=\"0.001\"");
    assertTrue(fastest >= 0 && fastest <= 9, () -> "le=0.001: " + fastest);
    assertEquals(10, value(text, "loomwork_tasks_wait_seconds_bucket", q, "le=\"600.0\""));
    // Between 10 s and 1 min the buckets are dense enough for a p99 there to mean something.
    for (String le : List.of("10.0", "15.0", "20.0", "30.0", "45.0", "60.0")) {
      assertEquals(10, value(text, "loomwork_tasks_wait_seconds_bucket", q, "le=\"" + le + "\""), le);
    }
    for (String type : List.of(
        "# TYPE loomwork_tasks_submitted_total counter",
        "# TYPE loomwork_tasks_rejected_total counter",
        "# TYPE loomwork_tasks_ready gauge",
        "# TYPE loomwork_queue_state gauge",
        "# TYPE loomwork_tasks_wait_seconds histogram",
        "# TYPE loomwork_attempts_duration_seconds histogram")) {
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
      assertTrue(warnings.stream().anyMatch(m -> m.contains("loomwork.tasks.wait")), warnings::toString);
      assertTrue(warnings.stream().anyMatch(m -> m.contains("loomwork.attempts.duration")), warnings::toString);
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

  // ---- the meters a dashboard needs ----------------------------------------------------------

  private static final TaskType<String> TEXT = TaskType.of("text", new TaskCodec<String>() {
    @Override
    public String encode(String payload) {
      return "\"" + payload + "\"";
    }

    @Override
    public String decode(String json) {
      return json.substring(1, json.length() - 1);
    }
  });

  private static double rejected(SimpleMeterRegistry registry, String queue, String reason) {
    return registry.get("loomwork.tasks.rejected").tag("queue", queue).tag("reason", reason).counter().count();
  }

  @Test
  void rejectionsAreCountedByReason() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    WorkQueue queue =
        fx.unstarted(WorkQueue.builder("refusals").capacity(3).meterRegistry(registry).handle(TEXT, (ctx, p) -> {}));
    String report =
        new ShutdownReport("refusals", "inst", Instant.EPOCH, 0, 0,
            List.of(new TaskSnapshot("refusals", "inst-1", "hello", "text", "\"hi\"", TaskState.READY, 0, null, null)),
            List.of(), Duration.ZERO)
            .toJsonLines();
    assertTrue(queue.offer(Task.of(ctx -> {})));
    assertEquals(1, queue.requeue(new StringReader(report)).requeued());
    assertEquals(1, queue.requeue(new StringReader(report)).duplicates(), "the same task id is pending");
    assertTrue(queue.offer(Task.of(ctx -> {})), "the third ready task fills the queue");
    assertFalse(queue.offer(Task.of(ctx -> {})), "full");
    Thread.currentThread().interrupt(); // so that waiting for room is interrupted at once
    assertThrows(RejectedExecutionException.class, () -> queue.submit(ctx -> {}));
    assertTrue(Thread.interrupted(), "the interrupt status is kept (and cleared here)");
    queue.shutdownNow();
    assertThrows(RejectedExecutionException.class, () -> queue.submit(ctx -> {}));

    for (String reason : List.of("full", "duplicate", "shut_down")) {
      assertEquals(1, rejected(registry, "refusals", reason), reason);
    }
    assertNull(
        registry.find("loomwork.tasks.rejected").tag("reason", "interrupted").counter(),
        "a producer that gave up waiting for room was not refused: no interrupted series");
    assertEquals(
        2,
        queue.stats().rejected(),
        "the stats count refusals; neither a duplicate nor a producer that gave up is one");
  }

  @Test
  void theAttemptTimerIsTaggedWithTheAttemptsOutcome() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    WorkQueue queue = fx.started(WorkQueue.builder("outcomes").meterRegistry(registry).retryPolicy(QueueFixture.NO_BACKOFF));
    Task<?> flaky = queue.enqueue(Task.of(ctx -> {
          if (ctx.attempt() < 3) {
            throw new IllegalStateException("not yet");
          }
        }).retries(2));
    Blocker timesOut = fx.blocker();
    Task<?> slow = queue.enqueue(Task.of(timesOut.work()).retries(0).attemptTimeout(Duration.ofMillis(50)));
    Blocker toCancel = fx.blocker();
    Task<?> cancelled = queue.enqueue(Task.of(toCancel.work()).retries(0));
    flaky.await(GENEROUS);
    assertThrows(TaskFailedException.class, () -> slow.await(GENEROUS));
    toCancel.awaitStarted(); // its body runs: the cancel cuts an attempt that started
    assertTrue(cancelled.cancel());
    assertThrows(java.util.concurrent.CancellationException.class, () -> cancelled.await(GENEROUS));
    queue.shutdown();
    Map<String, Long> byOutcome = new HashMap<>();
    for (Meter meter : registry.find("loomwork.attempts.duration").tag("queue", "outcomes").meters()) {
      byOutcome.put(meter.getId().getTag("outcome"), ((Timer) meter).count());
    }
    assertEquals(Map.of("succeeded", 1L, "failed", 2L, "timed_out", 1L, "cancelled", 1L), byOutcome);
    for (Map.Entry<String, Long> e : byOutcome.entrySet()) {
      assertEquals((double) e.getValue(),
          registry.get("loomwork.attempts").tag("queue", "outcomes").tag("outcome", e.getKey()).functionCounter().count(),
          "the attempt counter agrees: " + e.getKey());
    }
  }

  @Test
  void theTimersAreTaggedWithTheHandlerOfATypedTaskAndEveryMeterOfANameHasTheSameTags() throws Exception {
    TaskType<String> resize = TaskType.of("resize", new JacksonCodec<>(String.class));
    TaskType<String> notify = TaskType.of("notify", new JacksonCodec<>(String.class));
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (LogCapture log = new LogCapture()) {
      WorkQueue queue = fx.started(WorkQueue.builder("mixed").meterRegistry(registry).retryPolicy(QueueFixture.NO_BACKOFF)
          .handle(resize, (ctx, image) -> {})
          .handle(notify, (ctx, user) -> {
            throw new IllegalStateException("no route to " + user);
          }));
      List<Task<?>> tasks = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        tasks.add(queue.enqueue(Task.of(resize, "image-" + i)));
      }
      Task<?> failing = queue.enqueue(Task.of(notify, "ada").retries(1));
      tasks.add(queue.enqueue(Task.of(ctx -> {}).named("closure")));
      for (Task<?> t : tasks) {
        t.await(GENEROUS);
      }
      assertThrows(TaskFailedException.class, () -> failing.await(GENEROUS));
      queue.shutdown();
      String text = registry.scrape();
      String q = "queue=\"mixed\"";
      assertEquals(3, value(text, "loomwork_attempts_duration_seconds_count", q, "handler=\"resize\"",
          "outcome=\"succeeded\""));
      assertEquals(2, value(text, "loomwork_attempts_duration_seconds_count", q, "handler=\"notify\"",
          "outcome=\"failed\""));
      assertEquals(0, value(text, "loomwork_attempts_duration_seconds_count", q, "handler=\"notify\"",
          "outcome=\"succeeded\""), "registered up front, at zero");
      assertEquals(1, value(text, "loomwork_attempts_duration_seconds_count", q, "handler=\"-\"",
          "outcome=\"succeeded\""), "a closure");
      assertEquals(3, value(text, "loomwork_tasks_wait_seconds_count", q, "handler=\"resize\""));
      assertEquals(1, value(text, "loomwork_tasks_wait_seconds_count", q, "handler=\"notify\""), "first attempts only");
      assertEquals(1, value(text, "loomwork_tasks_wait_seconds_count", q, "handler=\"-\""));
      // The counters stay per queue, and agree with the timers' sum.
      assertEquals(4, value(text, "loomwork_attempts_total", q, "outcome=\"succeeded\""));
      assertEquals(2, value(text, "loomwork_attempts_total", q, "outcome=\"failed\""));

      // One set of tag keys per meter name, whatever the handler (Prometheus requires it).
      Map<String, java.util.Set<java.util.Set<String>>> keys = new HashMap<>();
      for (Meter m : registry.getMeters()) {
        java.util.Set<String> k = new java.util.TreeSet<>();
        m.getId().getTags().forEach(tag -> k.add(tag.getKey()));
        keys.computeIfAbsent(m.getId().getName(), n -> new java.util.HashSet<>()).add(k);
      }
      keys.forEach((name, sets) -> assertEquals(1, sets.size(), name + ": " + sets));
      assertEquals(java.util.Set.of(java.util.Set.of("queue", "handler", "outcome")), keys.get("loomwork.attempts.duration"));
      assertEquals(java.util.Set.of(java.util.Set.of("queue", "handler")), keys.get("loomwork.tasks.wait"));

      List<String> failed = log.messages(Level.WARN, m -> m.contains(" failed after "));
      assertEquals(1, failed.size(), failed::toString);
      assertTrue(failed.getFirst().startsWith("queue 'mixed': task '" + failing.name() + "' of handler 'notify'"
          + " failed after 2 attempt(s)"), failed.getFirst());
    }
  }

  private static double state(SimpleMeterRegistry registry, String queue, QueueLifecycle state) {
    return registry.get("loomwork.queue.state")
        .tag("queue", queue)
        .tag("state", state.name().toLowerCase(java.util.Locale.ROOT))
        .gauge()
        .value();
  }

  /** The one state whose gauge reads 1; every other reads 0. */
  private static QueueLifecycle stateOf(SimpleMeterRegistry registry, String queue) {
    List<QueueLifecycle> current = new ArrayList<>();
    for (QueueLifecycle s : QueueLifecycle.values()) {
      double v = state(registry, queue, s);
      assertTrue(v == 0 || v == 1, () -> s + " reads " + v);
      if (v == 1) {
        current.add(s);
      }
    }
    assertEquals(1, current.size(), current::toString);
    return current.getFirst();
  }

  @Test
  void theLimitAndLifecycleGaugesFollowTheQueueThroughADrain() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (LogCapture log = new LogCapture()) {
      WorkQueue queue =
          fx.unstarted(WorkQueue.builder("lifecycle").capacity(7).concurrency(3).meterRegistry(registry));
      assertEquals(7, registry.get("loomwork.queue.capacity").tag("queue", "lifecycle").gauge().value());
      assertEquals(3, registry.get("loomwork.queue.concurrency").tag("queue", "lifecycle").gauge().value());
      assertEquals(QueueLifecycle.NEW, stateOf(registry, "lifecycle"));
      assertEquals(QueueLifecycle.NEW, queue.health().lifecycle());
      assertTrue(queue.health().accepting(), "a queue not yet started accepts tasks");

      queue.start();
      assertEquals(QueueLifecycle.ACCEPTING, stateOf(registry, "lifecycle"));
      Blocker blocker = fx.blocker();
      queue.submit(blocker.work());
      blocker.awaitStarted();
      Background<Void> drain = fx.inBackground("drain", () -> {
        queue.shutdown();
        return null;
      });
      log.await(1, m -> m.startsWith("queue 'lifecycle': shutting down with"), GENEROUS);
      assertEquals(QueueLifecycle.DRAINING, stateOf(registry, "lifecycle"));
      assertFalse(queue.health().accepting(), "a draining queue refuses tasks");
      blocker.release();
      drain.get();
      assertEquals(QueueLifecycle.TERMINATED, stateOf(registry, "lifecycle"));
      assertEquals(QueueLifecycle.TERMINATED, queue.health().lifecycle());
    }
  }

  @Test
  void aCancellingShutdownShowsStoppedUntilItsLastAttemptEnds() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    WorkQueue queue =
        fx.started(WorkQueue.builder("stopping").abandonAfter(Duration.ZERO).meterRegistry(registry));
    Blocker stubborn = fx.blocker();
    queue.submit(ctx -> stubborn.blockIgnoringInterrupts());
    stubborn.awaitStarted();
    ShutdownReport report = queue.shutdownNow();
    assertEquals(1, report.abandoned().size(), "the attempt ignored its interruption");
    assertEquals(QueueLifecycle.STOPPED, stateOf(registry, "stopping"));
    QueueHealth health = queue.health();
    assertEquals(QueueLifecycle.STOPPED, health.lifecycle());
    assertEquals(1, health.running());
    stubborn.release();
    queue.shutdown(); // returns once terminated
    assertEquals(QueueLifecycle.TERMINATED, stateOf(registry, "stopping"));
  }

  // ---- one live queue per name and registry ----------------------------------------------------

  @Test
  void aSecondLiveQueueOfTheSameNameInOneRegistryIsRefused() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    WorkQueue first = fx.started(WorkQueue.builder("twin").meterRegistry(registry));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> WorkQueue.builder("twin").meterRegistry(registry).build());
    assertEquals("queue 'twin' already has meters in this registry, from a queue that has not terminated:"
        + " shut that queue down first, or give this one another name", e.getMessage());
    // Another name in the same registry, and the same name in another registry, are fine.
    WorkQueue other = fx.started(WorkQueue.builder("twin-2").meterRegistry(registry));
    SimpleMeterRegistry elsewhere = new SimpleMeterRegistry();
    WorkQueue twinElsewhere = fx.started(WorkQueue.builder("twin").meterRegistry(elsewhere));
    Blocker blocker = fx.blocker();
    first.submit(blocker.work());
    blocker.awaitStarted();
    first.submit(ctx -> {});
    other.submitJob(ctx -> 1).await(GENEROUS);
    twinElsewhere.submitJob(ctx -> 1).await(GENEROUS);
    assertEquals(2, registry.get("loomwork.tasks.submitted").tag("queue", "twin").functionCounter().count(),
        "the first queue's meters count its own tasks only");
    assertEquals(1, elsewhere.get("loomwork.tasks.submitted").tag("queue", "twin").functionCounter().count());

    // A queue that is draining has not terminated: it still holds its name.
    try (LogCapture log = new LogCapture()) {
      Background<Void> drain = fx.inBackground("drain", () -> {
        first.shutdown();
        return null;
      });
      log.await(1, m -> m.startsWith("queue 'twin': shutting down with"), GENEROUS);
      assertThrows(IllegalStateException.class, () -> WorkQueue.builder("twin").meterRegistry(registry).build());
      blocker.release();
      drain.get();
    }
    assertEquals(2, registry.get("loomwork.tasks.completed").tag("queue", "twin").tag("outcome", "succeeded")
        .functionCounter().count());
  }

  @Test
  void aNameIsFreeAgainOnceItsQueueTerminatedAndTheNewQueueReplacesItsMeters() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    WorkQueue first = fx.started(WorkQueue.builder("reborn").meterRegistry(registry));
    first.submitJob(ctx -> 1).await(GENEROUS);
    first.submitJob(ctx -> 2).await(GENEROUS);
    first.shutdown();
    // Terminated: its meters keep their last values for a last scrape.
    assertEquals(2, registry.get("loomwork.tasks.submitted").tag("queue", "reborn").functionCounter().count());
    assertEquals(QueueLifecycle.TERMINATED, stateOf(registry, "reborn"));
    int metersOfOne = registry.getMeters().size();

    WorkQueue second = fx.started(WorkQueue.builder("reborn").capacity(5).meterRegistry(registry));
    assertEquals(metersOfOne, registry.getMeters().size(), "the first queue's meters were replaced, not added to");
    assertEquals(0, registry.get("loomwork.tasks.submitted").tag("queue", "reborn").functionCounter().count());
    assertEquals(5, registry.get("loomwork.queue.capacity").tag("queue", "reborn").gauge().value());
    assertEquals(QueueLifecycle.ACCEPTING, stateOf(registry, "reborn"));
    second.submitJob(ctx -> 3).await(GENEROUS);
    assertEquals(1, registry.get("loomwork.tasks.submitted").tag("queue", "reborn").functionCounter().count());
    assertEquals(1L, registry.get("loomwork.tasks.wait").tag("queue", "reborn").timer().count());
    // And while the second one lives, the name is taken again.
    assertThrows(IllegalStateException.class, () -> WorkQueue.builder("reborn").meterRegistry(registry).build());
  }

  // ---- timer buckets -----------------------------------------------------------------------------

  @Test
  void theTimerBucketsAreTheBuildersAndPrometheusShowsExactlyThose() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    WorkQueue queue = fx.started(WorkQueue.builder("slo")
        .meterRegistry(registry)
        .timerBuckets(Duration.ofMillis(100), Duration.ofSeconds(3), Duration.ofSeconds(90)));
    queue.submitJob(ctx -> 1).await(GENEROUS);
    queue.shutdown();
    String text = registry.scrape();
    for (String family : List.of("loomwork_tasks_wait_seconds_bucket", "loomwork_attempts_duration_seconds_bucket")) {
      List<String> les = new ArrayList<>();
      Pattern le = Pattern.compile("le=\"([^\"]+)\"");
      for (String line : text.split("\n")) {
        if (line.startsWith(family + "{") && line.contains("queue=\"slo\"")) {
          Matcher m = le.matcher(line);
          assertTrue(m.find(), line);
          les.add(m.group(1));
        }
      }
      // The wait timer has one series; the attempt timer one per outcome, each with the same buckets.
      int series = family.startsWith("loomwork_tasks") ? 1 : 4;
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < series; i++) {
        expected.addAll(List.of("0.1", "3.0", "90.0", "+Inf"));
      }
      assertEquals(expected, les, () -> family + " in\n" + text);
    }
  }

  // ---- health ------------------------------------------------------------------------------------

  /**
   * Lets {@code span} pass on the clock the queue measures ages with. Not a synchronization: no other
   * thread is waited for; an age needs time to have passed to be told from another.
   */
  private static void letTimePass(Duration span) {
    long until = System.nanoTime() + span.toNanos();
    long left;
    while ((left = until - System.nanoTime()) > 0) {
      java.util.concurrent.locks.LockSupport.parkNanos(left);
    }
  }

  @Test
  void healthCountsWhatIsPendingAndTheOldestReadyTasksAge() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    WorkQueue queue = fx.unstarted(WorkQueue.builder("health").capacity(10).concurrency(1).meterRegistry(registry));
    QueueHealth empty = queue.health();
    assertEquals(new QueueHealth("health", QueueLifecycle.NEW, 0, 0, 0, 10, 1, Duration.ZERO), empty);

    long beforeFirst = System.nanoTime();
    Task<?> first = queue.enqueue(Task.of(ctx -> {}).named("first"));
    long afterFirst = System.nanoTime();
    letTimePass(Duration.ofMillis(100));
    long beforeSecond = System.nanoTime();
    queue.enqueue(Task.of(ctx -> {}).named("second"));
    queue.enqueue(Task.of(ctx -> {}).named("later").delay(Duration.ofHours(1)));
    long beforeHealth = System.nanoTime();
    QueueHealth health = queue.health();
    long afterHealth = System.nanoTime();
    double gauge = registry.get("loomwork.tasks.oldest.ready.age").tag("queue", "health").gauge().value();
    long afterGauge = System.nanoTime();

    assertEquals(2, health.ready());
    assertEquals(1, health.waiting());
    assertEquals(0, health.running());
    assertEquals(3, health.outstanding());
    assertTrue(health.accepting());
    assertFalse(health.full());
    // The first task's age, not the second's: the second is 100 ms younger.
    long age = health.oldestReadyAge().toNanos();
    assertTrue(age >= beforeHealth - afterFirst && age <= afterHealth - beforeFirst, () -> "age " + age);
    assertTrue(age > afterHealth - beforeSecond, () -> "age " + age + " is the first task's");
    // The gauge reads the same age a little later (to within the rounding of nanoseconds to seconds).
    assertTrue(gauge * 1e9 >= age - 1_000 && gauge * 1e9 <= afterGauge - beforeFirst + 1_000, () -> "gauge " + gauge);

    // Once the first leaves the ready queue (cancelled: its entry goes stale), the second is the oldest.
    assertTrue(first.cancel());
    long ageOfSecond = queue.health().oldestReadyAge().toNanos();
    long now = System.nanoTime();
    assertTrue(ageOfSecond > 0 && ageOfSecond <= now - beforeSecond, () -> "age " + ageOfSecond);
    assertEquals(1, queue.health().ready());
  }

  @Test
  void withoutMetricsTheAgeCountsFromTheFirstHealthCall() throws Exception {
    WorkQueue queue = fx.unstarted(WorkQueue.builder("unmetered"));
    Task<?> first = queue.submit(ctx -> {});
    letTimePass(Duration.ofMillis(50));
    // Nobody read the age before: the first call starts the clock, and the task counts from it.
    long beforeFirstCall = System.nanoTime();
    assertEquals(Duration.ZERO, queue.health().oldestReadyAge());
    long afterFirstCall = System.nanoTime();
    letTimePass(Duration.ofMillis(50));
    long beforeSecond = System.nanoTime();
    queue.submit(ctx -> {});
    long afterSecond = System.nanoTime();
    letTimePass(Duration.ofMillis(50));
    long beforeRead = System.nanoTime();
    long age = queue.health().oldestReadyAge().toNanos();
    long afterRead = System.nanoTime();
    assertTrue(age >= beforeRead - afterFirstCall && age <= afterRead - beforeFirstCall, () -> "age " + age);
    // A task that became ready after the first call is stamped as it is enqueued.
    assertTrue(first.cancel());
    long beforeLast = System.nanoTime();
    long ageOfSecond = queue.health().oldestReadyAge().toNanos();
    long afterLast = System.nanoTime();
    assertTrue(ageOfSecond >= beforeLast - afterSecond && ageOfSecond <= afterLast - beforeSecond,
        () -> "age " + ageOfSecond);
  }

  @Test
  void aFullQueueSaysSo() throws Exception {
    WorkQueue queue = fx.unstarted(WorkQueue.builder("full").capacity(2));
    queue.submit(ctx -> {});
    assertFalse(queue.health().full());
    queue.submit(ctx -> {});
    assertTrue(queue.health().full());
    assertFalse(queue.offer(Task.of(ctx -> {})));
  }

  @Test
  void aHealthEndpointAnswersReadyWhileTheQueueAcceptsAnd503Afterwards() throws Exception {
    WorkQueue queue = fx.started(WorkQueue.builder("webhooks"));
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    // README:health
    server.createContext("/health/ready", exchange -> {
      QueueHealth health = queue.health();
      String text = health.lifecycle() + ": " + health.ready() + " ready, " + health.running() + " running, "
          + health.waiting() + " waiting; oldest ready " + health.oldestReadyAge().toMillis() + " ms\n";
      byte[] body = text.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(health.accepting() ? 200 : 503, body.length); // 503: draining or stopped
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    // README:end
    server.start();
    try (HttpClient client = HttpClient.newHttpClient()) {
      URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/health/ready");
      HttpResponse<String> ready = client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ready.statusCode());
      assertEquals("ACCEPTING: 0 ready, 0 running, 0 waiting; oldest ready 0 ms\n", ready.body());
      queue.shutdown();
      HttpResponse<String> gone = client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(503, gone.statusCode());
      assertEquals("TERMINATED: 0 ready, 0 running, 0 waiting; oldest ready 0 ms\n", gone.body());
    } finally {
      server.stop(0);
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
