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
