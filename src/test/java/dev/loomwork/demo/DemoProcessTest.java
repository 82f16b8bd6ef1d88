package dev.loomwork.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link SignupDemo} as a separate JVM, the way an operator would, and drives it with real HTTP
 * and real signals. It synchronises on the lines the demo prints, never on sleeps. The child runs in
 * the runner mode of this JVM: with {@code --enable-preview} if this JVM has it.
 */
class DemoProcessTest {
  private static final Duration LINE = Duration.ofSeconds(25);
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

      // A scrape while the webhooks are still being delivered and retried.
      Map<String, Double> during = scrape(metrics);
      assertEquals(signups, during.get("demo_signups_total"));
      assertEquals(signups, during.get("loomwork_tasks_submitted_total{queue=\"email\"}"));
      assertEquals(signups, during.get("loomwork_tasks_submitted_total{queue=\"webhooks\"}"));

      demo.signal("INT");
      String shutdown = demo.await("shutdown: SIGINT received");
      assertTrue(shutdown.endsWith(metrics.toString()), "the metrics URL is printed again: " + shutdown);
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
      String loaded = demo.await("load: done:");
      assertTrue(loaded.contains(signups + " sent, " + signups + " accepted, 0 refused"), loaded);

      demo.signal("INT");
      demo.await("shutdown: SIGINT received");
      demo.await("queue 'webhooks': shutting down with"); // the drain has begun and cannot finish
      demo.signal("INT");
      demo.await("shutdown: second SIGINT: cancelling what is left");
      Matcher written = Pattern.compile("report: (\\d+) unfinished task\\(s\\) written to (.+)$")
          .matcher(demo.await("unfinished task(s) written to"));
      assertTrue(written.find(), demo.output());
      Map<String, Long> last = counts(demo.await("final:"));
      assertEquals(130, demo.exitCode(), demo.output());

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
  private static Map<String, Long> counts(String line) {
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

  /** The demo as a child JVM, its output collected line by line. */
  private static final class Demo implements AutoCloseable {
    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private boolean ended;

    private Demo(Process process) {
      this.process = process;
      Thread.ofPlatform().daemon().name("demo-output-" + process.pid()).start(this::read);
    }

    static Demo start(String... args) throws IOException, InterruptedException {
      List<String> command = new ArrayList<>();
      if (envResetsSignals()) {
        // A JVM keeps SIGINT ignored if it started ignored (a background job of a script); undo that.
        command.addAll(List.of("env", "--default-signal=INT"));
      }
      command.add(ProcessHandle.current().info().command().orElseThrow());
      if (parentHasPreview()) {
        command.add("--enable-preview");
      }
      command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"));
      command.addAll(List.of("-cp", System.getProperty("java.class.path"), SignupDemo.class.getName()));
      command.addAll(List.of(args));
      Demo demo = new Demo(new ProcessBuilder(command).redirectErrorStream(true).start());
      String runner = demo.await("loomwork runs attempts");
      String expected = System.getProperty("loomwork.expectedRunner");
      if (expected != null) {
        assertTrue(runner.contains("(" + (expected.equals("structured") ? "structured" : "fallback") + " runner)"),
            "the child runs in this JVM's runner mode: " + runner);
      }
      String ready = demo.await("demo: ready");
      assertFalse(demo.output().contains("was ignored when this process started"), demo.output());
      assertTrue(ready.contains("pid " + demo.process.pid()), ready);
      return demo;
    }

    private static boolean parentHasPreview() {
      List<String> jvmArgs = ProcessHandle.current().info().arguments().map(List::of).orElse(List.of());
      return jvmArgs.contains("--enable-preview")
          || "structured".equals(System.getProperty("loomwork.expectedRunner"));
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
      long deadline = System.nanoTime() + LINE.toNanos();
      int seen = 0;
      while (true) {
        for (; seen < lines.size(); seen++) {
          if (lines.get(seen).contains(text)) {
            return lines.get(seen);
          }
        }
        long left = deadline - System.nanoTime();
        if (ended || left <= 0) {
          throw new AssertionError("no line with \"" + text + "\" " + (ended ? "before the demo ended" : "within " + LINE)
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
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
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
