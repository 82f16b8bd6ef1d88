package dev.loomwork.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loomwork.ChildJvm;
import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link SignupDemo} as a separate JVM, the way an operator would, and drives it with real HTTP
 * and real signals. It synchronises on the lines the demo prints, never on sleeps. The child runs in
 * the runner mode of this JVM: with {@code --enable-preview} if this JVM has it.
 */
class DemoProcessTest {
  static final Duration LINE = Duration.ofSeconds(25);
  /** Maven's own start comes before the demo's first line: on a busy machine, it takes a while. */
  private static final Duration MAVEN_START = Duration.ofSeconds(90);
  private static final Pattern URL = Pattern.compile("(http://\\S+)");
  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*})? (\\S+)$");

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void firstSigintDrainsEveryWebhookAndExitsZero() throws Exception {
    int signups = 40;
    try (Demo demo = Demo.start(
        "--load", Integer.toString(signups),
        "--fail-rate", "0.3",
        "--webhook-delay", "100ms",
        "--webhook-concurrency", "2",
        "--retries", "20",
        "--backoff", "50ms",
        "--progress", "250ms",
        "--final-scrape-wait", "25s")) {
      URI metrics = demo.url("demo: metrics");
      String loaded = demo.await("load: done:");
      assertTrue(loaded.contains(signups + " sent, " + signups + " accepted, 0 refused"), loaded);

      // The readiness probe: ready, both queues accepting, this demo's pid.
      URI health = demo.url("demo: health");
      assertEquals(metrics.resolve("/health/ready"), health, "the health endpoint is on the metrics port");
      HttpResponse<String> ready = get(health);
      assertEquals(200, ready.statusCode(), ready.body());
      JsonNode readyJson = new ObjectMapper().readTree(ready.body());
      assertEquals("ready", readyJson.get("status").asText(), ready.body());
      assertEquals(demo.pid(), readyJson.get("pid").asLong());
      assertEquals(List.of("email", "webhooks"), queueNames(readyJson));
      for (JsonNode q : readyJson.get("queues")) {
        assertTrue(q.get("accepting").asBoolean(), ready.body());
        assertEquals("ACCEPTING", q.get("lifecycle").asText(), ready.body());
      }

      // A scrape while the webhooks are still being delivered and retried.
      Map<String, Double> during = scrape(metrics);
      assertEquals(signups, during.get("demo_signups_total"));
      assertEquals(signups, during.get("loomwork_tasks_submitted_total{queue=\"email\"}"));
      assertEquals(signups, during.get("loomwork_tasks_submitted_total{queue=\"webhooks\"}"));

      demo.signal("INT");
      String shutdown = demo.await("shutdown: SIGINT received");
      assertTrue(shutdown.endsWith(metrics.toString()), "the metrics URL is printed again: " + shutdown);
      // Draining: the probe says so, 503 with Retry-After, so that a load balancer stops sending.
      HttpResponse<String> draining = get(health);
      assertEquals(503, draining.statusCode(), draining.body());
      assertEquals(Integer.toString(SignupDemo.RETRY_AFTER_SECONDS),
          draining.headers().firstValue("Retry-After").orElse(null));
      JsonNode drainingJson = new ObjectMapper().readTree(draining.body());
      assertEquals("draining", drainingJson.get("status").asText(), draining.body());
      assertEquals("refused", drainingJson.get("signups").asText(), draining.body());
      demo.await("queue 'email': drained in");
      demo.await("queue 'webhooks': drained in");
      demo.await("shutdown: drained");
      Map<String, Long> last = counts(demo.await("final:"));
      demo.await("shutdown: waiting up to");
      Map<String, Double> after = scrape(metrics);
      assertEquals(0, demo.exitCode(), demo.output());

      // Every signup got its email and its webhook; the receiver counted each webhook once.
      assertEquals(signups, last.get("signups"), demo.output());
      assertEquals(signups, last.get("emails"));
      assertEquals(signups, last.get("webhooks"));
      assertEquals(signups, last.get("receiver"), "the receiver's count equals the signups");
      assertEquals(0, last.get("failed"));
      assertEquals(0, last.get("cancelled"));

      assertTheScrapeAfterTheDrainAgrees(after, signups, last.get("receiver_503"));
    }
  }

  /** The last scrape, taken after the drain, agrees with the final counts. */
  private static void assertTheScrapeAfterTheDrainAgrees(Map<String, Double> after, int signups, double unavailable) {
    assertEquals(signups, after.get("demo_signups_total"));
    for (String queue : List.of("email", "webhooks")) {
      String q = "queue=\"" + queue + "\"";
      assertEquals(signups, after.get("loomwork_tasks_submitted_total{" + q + "}"), queue);
      assertEquals(signups, after.get("loomwork_tasks_completed_total{outcome=\"succeeded\"," + q + "}"), queue);
      assertEquals(0, after.getOrDefault("loomwork_tasks_completed_total{outcome=\"failed\"," + q + "}", 0.0));
      assertEquals(0, after.getOrDefault("loomwork_tasks_completed_total{outcome=\"cancelled\"," + q + "}", 0.0));
      assertEquals(0, after.get("loomwork_tasks_ready{" + q + "}"), queue);
      assertEquals(0, after.get("loomwork_tasks_running{" + q + "}"), queue);
      assertEquals(0, after.get("loomwork_tasks_waiting{" + q + "}"), queue);
    }
    // Each 503 the receiver answered is one failed attempt and one retry.
    String w = "queue=\"webhooks\"";
    assertEquals(unavailable, after.getOrDefault("loomwork_attempts_total{outcome=\"failed\"," + w + "}", 0.0));
    assertEquals(unavailable, after.getOrDefault("loomwork_retries_total{" + w + "}", 0.0));
    assertEquals(signups, after.get("loomwork_attempts_total{outcome=\"succeeded\"," + w + "}"));
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void secondSigintCancelsAndReportsEveryUnfinishedTask(@TempDir Path dir) throws Exception {
    int signups = 20;
    int concurrency = 3;
    Path reportFile = dir.resolve("shutdown-report.jsonl");
    try (Demo demo = Demo.start(
        "--load", Integer.toString(signups),
        "--fail-rate", "0",
        "--webhook-delay", "1h", // the receiver never answers in time: every webhook is pending
        "--webhook-timeout", "1h",
        "--webhook-concurrency", Integer.toString(concurrency),
        "--report-file", reportFile.toString())) {
      URI signup = demo.url("demo: signup API");
      String loaded = demo.await("load: done:");
      assertTrue(loaded.contains(signups + " sent, " + signups + " accepted, 0 refused"), loaded);

      demo.signal("INT");
      demo.await("shutdown: SIGINT received");
      demo.await("queue 'webhooks': shutting down with"); // the drain has begun and cannot finish
      demo.await("queue 'email': drained in"); // one queue drained before the cut, one cut

      // While it drains, the API answers: 503 with Retry-After, and the connection closes.
      String answer = rawPost(signup, "late@example.com");
      assertTrue(answer.startsWith("HTTP/1.1 503 "), answer);
      assertTrue(answer.contains("\r\nRetry-After: " + SignupDemo.RETRY_AFTER_SECONDS + "\r\n"), answer);
      assertTrue(answer.contains("\r\nConnection: close\r\n"), answer);

      demo.signal("INT");
      demo.await("shutdown: second SIGINT: cancelling what is left");
      Matcher written = Pattern.compile("report: (\\d+) unfinished task\\(s\\) written to (.+)$")
          .matcher(demo.await("unfinished task(s) written to"));
      assertTrue(written.find(), demo.output());
      Map<String, Long> last = counts(demo.await("final:"));
      assertEquals(SignupDemo.EXIT_SECOND_SIGINT, demo.exitCode(), demo.output());
      assertTrue(demo.output().contains("demo: exit status 130 (a second SIGINT cut the drain)"), demo.output());
      assertOneLastLinePerQueue(demo.output(), "drained in", "stopped in");

      assertEquals(reportFile.toAbsolutePath().toString(), written.group(2), "the log names the report file");
      List<String> lines = Files.readAllLines(reportFile, StandardCharsets.US_ASCII);
      assertEquals(Long.parseLong(written.group(1)), lines.size());

      Report report = Report.parse(lines);
      // No webhook was delivered, so every one of them is in the report, and nothing else of that queue.
      assertEquals(numbered("webhook-", signups), report.webhooks(), demo.output());
      assertEquals(0, last.get("webhooks"));
      assertEquals(0, last.get("receiver"));
      // Cut while running: never more than each queue's concurrency (8 for email).
      assertTrue(report.webhooksRunning() <= concurrency, "webhook attempts running when cut: " + report.webhooksRunning());
      assertTrue(report.emailsRunning() <= 8, "email attempts running when cut: " + report.emailsRunning());
      // The emails not sent are in the report too: every accepted task is either done or listed.
      assertEquals(signups - last.get("emails") - last.get("failed"), report.emails().size(), demo.output());
      assertTrue(numbered("email-", signups).containsAll(report.emails()), report.emails().toString());
      assertEquals(lines.size(), last.get("cancelled") + countOutcome(lines, "abandoned"), demo.output());
    }
  }

  /**
   * The shutdown report carries the typed tasks to the next process, and the idempotency key makes
   * the at-least-once delivery visible: one receiver, in this JVM, serves two demo processes. The
   * first takes signups, the receiver answers the first webhooks and then holds the requests of the
   * running attempts (slow webhooks, pending), and two SIGINTs cut it: exit 130 and a report. The
   * receiver then lets the held requests through: it did their work, but the demo that sent them is
   * gone and reported them cut while running. A second demo re-queues the report, takes a few more
   * signups and drains. The receiver has one key per signup, and only the keys of attempts the
   * report lists as cut while running were delivered twice.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aSecondProcessRequeuesTheReportAndEachWebhookArrivesUnderOneKey(@TempDir Path dir) throws Exception {
    int signups = 30;
    int answered = 10; // the receiver answers the first 10 webhook requests, then holds the rest
    int concurrency = 3;
    int moreSignups = 5;
    Path reportFile = dir.resolve("shutdown-report.jsonl");
    try (WebhookReceiver receiver = new WebhookReceiver(0, Duration.ZERO)) {
      receiver.holdRequestsAfter(answered);
      String webhookUrl = receiver.uri().toString();

      try (Demo first = Demo.start(
          "--load", Integer.toString(signups),
          "--webhook-url", webhookUrl,
          "--webhook-timeout", "1h",
          "--webhook-concurrency", Integer.toString(concurrency),
          "--email-delay", "1h", // no email is sent either: the report lists both queues' tasks
          "--report-file", reportFile.toString())) {
        String loaded = first.await("load: done:");
        assertTrue(loaded.contains(signups + " sent, " + signups + " accepted, 0 refused"), loaded);
        // Every webhook attempt the queue can run is running, its request held by the receiver.
        receiver.awaitHeld(concurrency, LINE);

        first.signal("INT");
        first.await("shutdown: SIGINT received");
        first.await("queue 'webhooks': shutting down with"); // the drain has begun and cannot finish
        first.signal("INT");
        first.await("shutdown: second SIGINT: cancelling what is left");
        first.await("unfinished task(s) written to " + reportFile.toAbsolutePath());
        assertFalse(first.await("final:").contains("receiver"), "an external receiver's counts are not the demo's");
        assertEquals(130, first.exitCode(), first.output());
      }

      Map<String, Long> beforeRelease = receiver.deliveriesByKey();
      assertEquals(answered, beforeRelease.size(), beforeRelease.toString());
      List<ReportLine> report = ReportLine.parse(Files.readAllLines(reportFile, StandardCharsets.US_ASCII));
      Set<String> reportedWebhooks = ReportLine.ids(report, "webhooks", null);
      Set<String> cutWhileRunning = ReportLine.ids(report, "webhooks", "RUNNING");
      long reportedEmails = ReportLine.ids(report, "email", null).size();
      assertEquals(signups, reportedEmails, first(report));
      assertEquals(signups - answered, reportedWebhooks.size(), first(report));
      assertEquals(concurrency, cutWhileRunning.size(), "the held attempts were cut while running: " + report);
      assertTrue(Collections.disjoint(reportedWebhooks, beforeRelease.keySet()), "a delivered webhook is not reported");

      // The receiver does the work of the held requests, which the first demo never heard back from.
      receiver.release();
      receiver.awaitIdle(LINE);
      Map<String, Long> afterRelease = receiver.deliveriesByKey();
      afterRelease.keySet().removeAll(beforeRelease.keySet());
      assertEquals(cutWhileRunning, afterRelease.keySet(), "the held requests were the running attempts");

      // The second demo re-queues the report, and one damaged line at its end.
      Path requeueFile = dir.resolve("requeue.jsonl");
      Files.writeString(requeueFile, Files.readString(reportFile) + "{\"queue\":\"webhooks\",\"id\":\n");
      try (Demo second = Demo.start(
          "--requeue", requeueFile.toString(),
          "--load", Integer.toString(moreSignups),
          "--stop-after-load",
          "--webhook-url", webhookUrl)) {
        Matcher requeued = Pattern.compile(
                "^requeue: (\\d+) requeued, (\\d+) duplicates, (\\d+) skipped, (\\d+) closures from (.+)$")
            .matcher(second.await(" closures from "));
        assertTrue(requeued.find(), second.output());
        assertEquals(requeueFile.toAbsolutePath().toString(), requeued.group(5));
        assertEquals(report.size(), Integer.parseInt(requeued.group(1)), "every line of the report is a typed task");
        assertEquals("0", requeued.group(2), "a new queue holds no task of the report");
        assertEquals("1", requeued.group(3), "the damaged line, counted once: " + second.output());
        assertEquals("0", requeued.group(4), "the demo's tasks are all typed");
        assertTrue(second.await("requeue:   skipped").contains("line " + (report.size() + 1) + ":"), second.output());
        assertTrue(second.await("requeue:   queue webhooks:").contains(": " + reportedWebhooks.size() + " requeued,"),
            second.output());
        assertTrue(second.await("requeue:   queue email:").contains(": " + reportedEmails + " requeued,"),
            second.output());

        second.await("load: --stop-after-load: shutting down as on SIGTERM");
        second.await("shutdown: drained");
        Map<String, Long> last = counts(second.await("final:"));
        assertEquals(0, second.exitCode(), second.output());
        assertEquals(moreSignups, last.get("signups"));
        assertEquals(reportedWebhooks.size() + moreSignups, last.get("webhooks"), second.output());
        assertEquals(reportedEmails + moreSignups, last.get("emails"), second.output());
        assertEquals(0, last.get("failed"));
        assertEquals(0, last.get("cancelled"));
      }

      receiver.awaitIdle(LINE);
      Map<String, Long> deliveries = receiver.deliveriesByKey();
      assertEquals(signups + moreSignups, deliveries.size(), "one idempotency key per signup: " + deliveries);
      assertTrue(deliveries.keySet().containsAll(reportedWebhooks), "every reported webhook was delivered");
      Set<String> repeated = new HashSet<>();
      deliveries.forEach((key, n) -> {
        // A key is delivered once, and once more only if the report says its attempt was cut while running.
        assertTrue(n <= (cutWhileRunning.contains(key) ? 2 : 1), key + " delivered " + n + " times");
        if (n > 1) {
          repeated.add(key);
        }
      });
      assertEquals(cutWhileRunning, repeated, "here each cut attempt had reached the receiver");
      assertEquals(signups + moreSignups + cutWhileRunning.size(), receiver.accepted());
    }
  }

  /** The email queue drained and the webhooks queue was cut: one last line each, and no other. */
  private static void assertOneLastLinePerQueue(String output, String email, String webhooks) {
    for (Map.Entry<String, String> q : Map.of("email", email, "webhooks", webhooks).entrySet()) {
      List<String> last = output.lines()
          .filter(l -> l.contains("queue '" + q.getKey() + "': drained in ") || l.contains("queue '" + q.getKey()
              + "': stopped in ") || l.contains("queue '" + q.getKey() + "': stopped by"))
          .toList();
      assertEquals(1, last.size(), "one last line for queue " + q.getKey() + ": " + last);
      assertTrue(last.getFirst().contains("queue '" + q.getKey() + "': " + q.getValue() + " "), last.getFirst());
    }
  }

  /**
   * The README's way through Maven: a second SIGINT cuts the drain, the demo exits 130 and says so,
   * and Maven, which counts 130 as one of the demo's own ends, exits 0 with no error.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void throughMavenASecondSigintEndsTheDemoWith130AndMavenWithoutAnError(@TempDir Path dir) throws Exception {
    // exec@demo always runs the structured runner: once per build is enough.
    Assumptions.assumeFalse("virtual".equals(System.getProperty("loomwork.expectedRunner")),
        "run with the structured runner's tests");
    Path reportFile = dir.resolve("report.jsonl");
    try (Demo demo = Demo.throughMaven("--load 10 --fail-rate 0 --webhook-delay 1h --webhook-timeout 1h"
        + " --webhook-concurrency 2 --report-file " + reportFile)) {
      demo.await("load: done:");
      demo.signal("INT");
      demo.await("queue 'webhooks': shutting down with");
      demo.signal("INT");
      demo.await("demo: exit status 130 (a second SIGINT cut the drain)");
      assertEquals(0, demo.exitCode(), demo.output());
      assertFalse(demo.output().contains("[ERROR]"), demo.output());
      assertTrue(Files.size(reportFile) > 0, "the report was written");
    }
  }

  /**
   * A task's name carries the number of its id ({@code webhook-7} has id {@code …-7}): with signups
   * arriving at once, and after a {@code --requeue} that gave the first numbers of each queue to
   * the report's tasks (three webhooks, one email). Before, names counted the signups: after that
   * re-queue the first signup's webhook was {@code webhook-1} with id {@code …-4}.
   */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aTaskNameCarriesTheNumberOfItsIdEvenAfterARequeue(@TempDir Path dir) throws Exception {
    Path report = dir.resolve("report.jsonl");
    writeReport(report, 3, 1);
    int signups = 24;
    try (Demo demo = Demo.start("--requeue", report.toString(), "--webhook-delay", "0ms", "--fail-rate", "0")) {
      URI signup = demo.url("demo: signup API");
      List<JsonNode> answers = new ArrayList<>();
      try (HttpClient client = HttpClient.newHttpClient()) {
        List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
        for (int i = 0; i < signups; i++) {
          sent.add(client.sendAsync(HttpRequest.newBuilder(signup).timeout(LINE)
              .POST(HttpRequest.BodyPublishers.ofString("user" + i + "@example.com")).build(),
              HttpResponse.BodyHandlers.ofString()));
        }
        ObjectMapper json = new ObjectMapper();
        for (CompletableFuture<HttpResponse<String>> f : sent) {
          HttpResponse<String> r = f.get(LINE.toSeconds(), TimeUnit.SECONDS);
          assertEquals(202, r.statusCode(), r.body());
          answers.add(json.readTree(r.body()));
        }
      }
      Set<String> emails = new HashSet<>();
      Set<String> webhooks = new HashSet<>();
      Set<Long> ids = new HashSet<>();
      Pattern named = Pattern.compile("^(email|webhook)-(\\d+)$");
      for (JsonNode answer : answers) {
        ids.add(answer.get("id").asLong());
        for (JsonNode task : answer.get("tasks")) {
          Matcher m = named.matcher(task.get("name").asText());
          assertTrue(m.matches(), answer.toString());
          assertTrue(task.get("id").asText().endsWith("-" + m.group(2)), "the name and the id agree: " + answer);
          (m.group(1).equals("email") ? emails : webhooks).add(m.group(0));
        }
      }
      // The numbers after the report's: emails from 2, webhooks from 4; the signups count from 1.
      assertEquals(IntStream.rangeClosed(2, signups + 1).mapToObj(i -> "email-" + i).collect(Collectors.toSet()),
          emails);
      assertEquals(IntStream.rangeClosed(4, signups + 3).mapToObj(i -> "webhook-" + i).collect(Collectors.toSet()),
          webhooks);
      assertEquals(LongStream.rangeClosed(1, signups).boxed().collect(Collectors.toSet()), ids);
      demo.signal("TERM");
      demo.await("shutdown: drained");
      assertEquals(0, demo.exitCode(), demo.output());
    }
  }

  /** A shutdown report of the demo's typed tasks, from queues of this JVM that never ran them. */
  private static void writeReport(Path file, int webhooks, int emails) throws IOException {
    WorkQueue hooks = WorkQueue.builder(SignupDemo.WEBHOOK_QUEUE).handle(SignupDemo.WEBHOOK, (ctx, e) -> { }).build();
    WorkQueue mail = WorkQueue.builder(SignupDemo.EMAIL_QUEUE).handle(SignupDemo.WELCOME, (ctx, w) -> { }).build();
    hooks.start();
    mail.start();
    for (int i = 1; i <= webhooks; i++) {
      hooks.enqueue(Task.of(SignupDemo.WEBHOOK, new SignupDemo.SignupEvent(i, "earlier" + i + "@example.com"))
          .named("webhook-" + i).delay(Duration.ofHours(1)));
    }
    for (int i = 1; i <= emails; i++) {
      mail.enqueue(Task.of(SignupDemo.WELCOME, new SignupDemo.Welcome(i, "earlier" + i + "@example.com"))
          .named("email-" + i).delay(Duration.ofHours(1)));
    }
    try (var out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      hooks.shutdownNow().writeJsonLines(out);
      mail.shutdownNow().writeJsonLines(out);
    }
  }

  /** --port, --metrics-port and --receiver-port bind what they say; a port in use is a clear error. */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void portsCanBeFixedAndATakenPortIsAClearError() throws Exception {
    int[] ports = freePorts(3);
    try (Demo demo = Demo.start("--port", Integer.toString(ports[0]), "--metrics-port", Integer.toString(ports[1]),
        "--receiver-port", Integer.toString(ports[2]))) {
      assertEquals(ports[0], demo.url("demo: signup API").getPort());
      assertEquals(ports[1], demo.url("demo: metrics").getPort());
      assertEquals(ports[2], demo.url("demo: webhooks").getPort());
      assertEquals(202, post(demo.url("demo: signup API"), "ada@example.com").statusCode());

      // Without --reuse-port, a second demo cannot share the API's port, nor the metrics port.
      try (Demo second = Demo.launch("--port", Integer.toString(ports[0]))) {
        assertEquals(2, second.exitCode(), second.output());
        assertTrue(second.output().contains("demo: cannot bind a port"), second.output());
      }
      try (Demo second = Demo.launch("--reuse-port", "--metrics-port", Integer.toString(ports[1]))) {
        assertEquals(2, second.exitCode(), second.output());
        assertTrue(second.output().contains("demo: cannot bind a port"), second.output());
      }
      // A hand-over takes the metrics port along: no last scrape of this process can be waited for.
      try (Demo second = Demo.launch("--reuse-port", "--final-scrape-wait", "5s")) {
        assertEquals(2, second.exitCode(), second.output());
        assertTrue(second.output().contains("--final-scrape-wait: not with --reuse-port"), second.output());
      }
      demo.signal("TERM");
      demo.await("shutdown: drained");
      assertEquals(0, demo.exitCode(), demo.output());
    }
  }

  /**
   * A hand-over without a dropped signup: demo A binds a port with SO_REUSEPORT and takes load; demo
   * B binds the same port, and the kernel spreads new connections across both; A gets SIGTERM,
   * stops accepting, finishes its open connections' requests and drains. Two load generators run
   * all along, one over kept-alive connections and one opening a connection per signup. Neither
   * sees a refused or a failed signup, and every signup they had accepted is counted by exactly one
   * of the two demos. A request that found its connection closed or reset before any answer is
   * retried by the generator (a kept-alive connection A closed as idle just as it was reused, or one
   * reset in A's accept queue when A closed its listener): the counts show that none of those was
   * taken twice, and the test prints how many there were.
   */
  @Test
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  void aSecondDemoOnTheSamePortTakesOverAndTheLoadSeesNoRefusedOrFailedSignup() throws Exception {
    String[] quick = {"--reuse-port", "--fail-rate", "0", "--webhook-delay", "0ms", "--email-delay", "0ms"};
    try (Demo a = Demo.start(concat(quick, "--port", "0", "--metrics-port", "0"))) {
      URI signup = a.url("demo: signup API");
      URI health = a.url("demo: health");
      assertTrue(a.await("demo: signup API").contains("SO_REUSEPORT"), a.output());
      assertTrue(a.await("demo: metrics").contains("SO_REUSEPORT"), a.output());
      LoadGenerator kept = new LoadGenerator(signup, Long.MAX_VALUE, 4, true, null, false);
      LoadGenerator fresh = new LoadGenerator(signup, Long.MAX_VALUE, 2, false, null, false);
      CompletableFuture<LoadGenerator.Result> keptRun = inBackground(kept);
      CompletableFuture<LoadGenerator.Result> freshRun = inBackground(fresh);
      try {
        kept.awaitAccepted(50, LINE);
        fresh.awaitAccepted(20, LINE);
        // B's JVM starts while both loads keep A and this JVM busy: on a loaded machine its first line
        // has taken more than LINE, so it gets the allowance of a start through Maven.
        try (Demo b = Demo.start(MAVEN_START, concat(quick, "--port", Integer.toString(signup.getPort()),
            "--metrics-port", Integer.toString(health.getPort())))) {
          assertEquals(signup.getPort(), b.url("demo: signup API").getPort());
          assertEquals(health, b.url("demo: health"), "both bind the metrics port");
          // Both bound: a probe reaches one of them.
          long answered = new ObjectMapper().readTree(get(health).body()).get("pid").asLong();
          assertTrue(answered == a.pid() || answered == b.pid(), "pid " + answered);
          // Both bound: the kernel gives B some of the new connections while A still accepts.
          fresh.awaitAccepted(10, b.pid(), LINE);

          a.signal("TERM");
          a.await("shutdown: SIGTERM received: handing over port " + signup.getPort() + " and metrics port "
              + health.getPort());
          a.await("shutdown: handed over: every API and metrics connection closed");
          a.await("shutdown: drained");
          Map<String, Long> aCounts = counts(a.await("final:"));
          assertEquals(0, a.exitCode(), a.output());
          // The metrics port went over too: every probe and scrape now reaches B, ready.
          for (int i = 0; i < 5; i++) {
            HttpResponse<String> probe = get(health);
            assertEquals(200, probe.statusCode(), probe.body());
            assertEquals(b.pid(), new ObjectMapper().readTree(probe.body()).get("pid").asLong(), probe.body());
          }
          assertTrue(scrape(health.resolve("/metrics")).containsKey("demo_signups_total"));
          // B alone takes both loads.
          kept.awaitAccepted(kept.accepted() + 100, LINE);
          fresh.awaitAccepted(fresh.accepted() + 20, LINE);
          kept.stop();
          fresh.stop();
          LoadGenerator.Result k = keptRun.get(LINE.toSeconds(), TimeUnit.SECONDS);
          LoadGenerator.Result f = freshRun.get(LINE.toSeconds(), TimeUnit.SECONDS);

          b.signal("TERM");
          b.await("shutdown: drained");
          Map<String, Long> bCounts = counts(b.await("final:"));
          assertEquals(0, b.exitCode(), b.output());

          System.out.println("hand-over: kept-alive " + k + ", errors " + kept.errors());
          System.out.println("hand-over: new connection each " + f + ", errors " + fresh.errors());
          for (LoadGenerator.Result r : List.of(k, f)) {
            assertEquals(0, r.refused(), () -> "refused: " + r + kept.errors() + fresh.errors());
            assertEquals(0, r.failed(), () -> "failed: " + r + kept.errors() + fresh.errors());
            assertEquals(r.sent(), r.accepted());
          }
          // Each accepted signup was taken by one process, once: a retried request had not been taken.
          assertEquals(k.accepted() + f.accepted(), aCounts.get("signups") + bCounts.get("signups"),
              a.output() + b.output());
          assertEquals(aCounts.get("signups"), byPid(k, a.pid()) + byPid(f, a.pid()));
          assertEquals(bCounts.get("signups"), byPid(k, b.pid()) + byPid(f, b.pid()));
          for (Map<String, Long> c : List.of(aCounts, bCounts)) {
            assertEquals(c.get("signups"), c.get("emails"), c.toString());
            assertEquals(c.get("signups"), c.get("webhooks"), c.toString());
            assertEquals(0, c.get("failed"));
            assertEquals(0, c.get("cancelled"));
          }
        }
      } finally {
        kept.stop();
        fresh.stop();
      }
    }
  }

  private static long byPid(LoadGenerator.Result result, long pid) {
    return result.acceptedByPid().getOrDefault(pid, 0L);
  }

  private static CompletableFuture<LoadGenerator.Result> inBackground(LoadGenerator load) {
    CompletableFuture<LoadGenerator.Result> result = new CompletableFuture<>();
    Thread.ofPlatform().name("hand-over-load").start(() -> {
      try {
        result.complete(load.run());
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    });
    return result;
  }

  private static String[] concat(String[] first, String... more) {
    List<String> all = new ArrayList<>(List.of(first));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  /** Ports that were free a moment ago: bound by the kernel's choice, then released. */
  private static int[] freePorts(int n) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } finally {
      for (ServerSocket s : sockets) {
        s.close();
      }
    }
  }

  private static HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(HttpRequest.newBuilder(uri).timeout(LINE).build(), HttpResponse.BodyHandlers.ofString());
    }
  }

  private static List<String> queueNames(JsonNode health) {
    List<String> names = new ArrayList<>();
    health.get("queues").forEach(q -> names.add(q.get("queue").asText()));
    return names;
  }

  private static HttpResponse<String> post(URI uri, String body) throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(HttpRequest.newBuilder(uri).timeout(LINE).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
    }
  }

  /** A POST written by hand, so that the answer's head is seen as sent; reads until the server closes. */
  private static String rawPost(URI uri, String body) throws IOException {
    try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
      socket.setSoTimeout((int) LINE.toMillis());
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      OutputStream out = socket.getOutputStream();
      out.write(("POST " + uri.getPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
          + "\r\nContent-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(bytes);
      out.flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static String first(List<ReportLine> report) {
    return report.isEmpty() ? "an empty report" : report.getFirst().toString();
  }

  /** One line of the JSON Lines shutdown report of typed tasks, checked. */
  private record ReportLine(String queue, String id, String task, String handler, String outcome, String state) {
    static List<ReportLine> parse(List<String> lines) throws IOException {
      ObjectMapper json = new ObjectMapper();
      List<ReportLine> report = new ArrayList<>();
      Set<String> ids = new HashSet<>();
      for (String line : lines) {
        JsonNode t = json.readTree(line);
        for (String field : List.of("reportedAt", "instance", "queue", "id", "task", "handler", "payload")) {
          assertTrue(t.path(field).isTextual(), field + " in " + line);
        }
        ReportLine r = new ReportLine(t.get("queue").asText(), t.get("id").asText(), t.get("task").asText(),
            t.get("handler").asText(), t.get("outcome").asText(), t.get("state").asText());
        assertTrue(ids.add(r.id()), "listed once: " + line);
        assertTrue(Set.of("cancelled", "abandoned").contains(r.outcome()), line);
        assertTrue(Set.of("READY", "RUNNING", "WAITING").contains(r.state()), line);
        json.readTree(t.get("payload").asText()); // the codec's JSON
        switch (r.queue()) {
          case "webhooks" -> assertEquals("demo.webhook.signup", r.handler(), line);
          case "email" -> assertEquals("demo.email.welcome", r.handler(), line);
          default -> fail("unexpected queue: " + line);
        }
        report.add(r);
      }
      return report;
    }

    /** The ids of a queue's lines, of those cut in {@code state} if it is not null. */
    static Set<String> ids(List<ReportLine> report, String queue, @Nullable String state) {
      return report.stream()
          .filter(r -> r.queue().equals(queue) && (state == null || r.state().equals(state)))
          .map(ReportLine::id)
          .collect(Collectors.toSet());
    }
  }

  private static Set<String> numbered(String prefix, int count) {
    return IntStream.rangeClosed(1, count).mapToObj(i -> prefix + i).collect(Collectors.toSet());
  }

  /** The unfinished tasks of the JSON Lines shutdown report, by queue; each line checked. */
  private record Report(Set<String> webhooks, Set<String> emails, int webhooksRunning, int emailsRunning) {
    static Report parse(List<String> lines) throws IOException {
      ObjectMapper json = new ObjectMapper();
      Set<String> webhooks = new HashSet<>();
      Set<String> emails = new HashSet<>();
      int webhooksRunning = 0;
      int emailsRunning = 0;
      for (String line : lines) {
        JsonNode task = json.readTree(line);
        String name = task.get("task").asText();
        String queue = task.get("queue").asText();
        String outcome = task.get("outcome").asText();
        String state = task.get("state").asText();
        assertTrue(Set.of("cancelled", "abandoned").contains(outcome), line);
        assertTrue(Set.of("READY", "RUNNING", "WAITING").contains(state), line);
        if (state.equals("RUNNING")) {
          if (queue.equals("webhooks")) {
            webhooksRunning++;
          } else {
            emailsRunning++;
          }
        }
        switch (queue) {
          case "webhooks" -> assertTrue(webhooks.add(name), "listed once: " + line);
          case "email" -> assertTrue(emails.add(name), "listed once: " + line);
          default -> fail("unexpected queue: " + line);
        }
      }
      return new Report(webhooks, emails, webhooksRunning, emailsRunning);
    }
  }

  private static long countOutcome(List<String> lines, String outcome) {
    return lines.stream().filter(l -> l.contains("\"outcome\":\"" + outcome + "\"")).count();
  }

  /** Parses {@code final: signups=40 emails=40 ...}. */
  static Map<String, Long> counts(String line) {
    Map<String, Long> counts = new HashMap<>();
    Matcher m = Pattern.compile("(\\w+)=(\\d+)").matcher(line);
    while (m.find()) {
      counts.put(m.group(1), Long.parseLong(m.group(2)));
    }
    return counts;
  }

  /** Scrapes a Prometheus endpoint: sample name with its labels, as written, to value. */
  private static Map<String, Double> scrape(URI metrics) throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newHttpClient()) {
      HttpResponse<String> response = client.send(
          HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(20)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode());
      Map<String, Double> samples = new HashMap<>();
      for (String line : response.body().split("\n")) {
        if (line.startsWith("#") || line.isBlank()) {
          continue;
        }
        Matcher m = SAMPLE.matcher(line);
        assertTrue(m.matches(), "a well-formed sample: " + line);
        samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(3)));
      }
      return samples;
    }
  }

  /** The demo as a child process (a JVM, or Maven running one), its output collected line by line. */
  static final class Demo implements AutoCloseable {
    private static final Pattern READY_PID = Pattern.compile("demo: ready, pid (\\d+)");

    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private boolean ended;
    /** The demo JVM's pid, from its ready line: Maven's child when Maven runs it. */
    private long pid;

    private Demo(Process process) {
      this.process = process;
      this.pid = process.pid();
      Thread.ofPlatform().daemon().name("demo-output-" + process.pid()).start(this::read);
    }

    /** Starts the demo's JVM with {@code args}, and waits until it is ready. */
    static Demo start(String... args) throws IOException, InterruptedException {
      return start(LINE, args);
    }

    /** Starts the demo's JVM with {@code args}, and waits until it is ready, its first line at most {@code first}. */
    static Demo start(Duration first, String... args) throws IOException, InterruptedException {
      Demo demo = launch(args);
      demo.awaitReady(first);
      assertEquals(demo.process.pid(), demo.pid, "the ready line names the demo's pid");
      return demo;
    }

    /** Starts the demo's JVM with {@code args}, and does not wait for it. */
    static Demo launch(String... args) throws IOException {
      List<String> command = new ArrayList<>(resetSignals());
      command.addAll(ChildJvm.command(
          List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"), SignupDemo.class, args));
      return new Demo(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    /**
     * Runs the demo the README's way, through Maven's {@code exec:exec@demo} (on the classes this
     * build compiled: {@code validate} selects the JDK 25 toolchain and compiles nothing), and waits
     * until it is ready.
     */
    static Demo throughMaven(String demoArgs) throws IOException, InterruptedException {
      List<String> command = new ArrayList<>(resetSignals());
      command.addAll(List.of(Path.of("mvnw").toAbsolutePath().toString(), "-B", "validate", "exec:exec@demo",
          "-Ddemo.args=" + demoArgs));
      ProcessBuilder maven = new ProcessBuilder(command).redirectErrorStream(true);
      // As on a newcomer's machine (README, Set-up): no JAVA_HOME, so that Maven runs on the default
      // java and the toolchains plugin finds the JDK 25. This JVM's JAVA_HOME names the JDK 25 under
      // surefire here, and Maven running on a JDK 25 selects no toolchain: exec would then run the
      // java on the PATH, which may be older.
      maven.environment().remove("JAVA_HOME");
      Demo demo = new Demo(maven.start());
      demo.awaitReady(MAVEN_START);
      return demo;
    }

    private static List<String> resetSignals() {
      // A JVM keeps SIGINT ignored if it started ignored (a background job of a script); undo that.
      return envResetsSignals() ? List.of("env", "--default-signal=INT") : List.of();
    }

    private void awaitReady() throws InterruptedException {
      awaitReady(LINE);
    }

    /** Waits for the runner and ready lines, the first of them at most {@code first}. */
    void awaitReady(Duration first) throws InterruptedException {
      String runner = await("loomwork runs attempts", first);
      String expected = System.getProperty("loomwork.expectedRunner");
      if (expected != null) {
        assertTrue(runner.contains("(" + (expected.equals("structured") ? "structured" : "fallback") + " runner)"),
            "the child runs in this JVM's runner mode: " + runner);
      }
      Matcher ready = READY_PID.matcher(await("demo: ready"));
      assertTrue(ready.find(), output());
      assertFalse(output().contains("was ignored when this process started"), output());
      pid = Long.parseLong(ready.group(1));
    }

    long pid() {
      return pid;
    }

    private static boolean envResetsSignals() {
      try {
        Process probe = new ProcessBuilder("env", "--default-signal=INT", "true")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
        return probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0;
      } catch (IOException | InterruptedException e) {
        return false; // not GNU env: start java directly
      }
    }

    private void read() {
      try (BufferedReader in = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          System.out.println("[demo " + process.pid() + "] " + line);
          synchronized (this) {
            lines.add(line);
            notifyAll();
          }
        }
      } catch (IOException e) {
        // the process is gone
      } finally {
        synchronized (this) {
          ended = true;
          notifyAll();
        }
      }
    }

    /** Waits for the first line containing {@code text}, and returns it. */
    synchronized String await(String text) throws InterruptedException {
      return await(text, LINE);
    }

    /** Waits at most {@code timeout} for the first line containing {@code text}, and returns it. */
    synchronized String await(String text, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      int seen = 0;
      while (true) {
        for (; seen < lines.size(); seen++) {
          if (lines.get(seen).contains(text)) {
            return lines.get(seen);
          }
        }
        long left = deadline - System.nanoTime();
        if (ended || left <= 0) {
          throw new AssertionError("no line with \"" + text + "\" " + (ended ? "before the demo ended" : "within " + timeout)
              + "; output:\n" + String.join("\n", lines));
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }

    URI url(String text) throws InterruptedException {
      String line = await(text);
      Matcher m = URL.matcher(line);
      assertTrue(m.find(), line);
      return URI.create(m.group(1));
    }

    synchronized String output() {
      return String.join("\n", lines);
    }

    void signal(String name) throws IOException, InterruptedException {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
      assertEquals(0, kill.waitFor(), "kill -" + name);
    }

    int exitCode() throws InterruptedException {
      if (!process.waitFor(LINE.toSeconds(), TimeUnit.SECONDS)) {
        throw new AssertionError("the demo did not exit within " + LINE + "; output:\n" + output());
      }
      return process.exitValue();
    }

    @Override
    public void close() {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
