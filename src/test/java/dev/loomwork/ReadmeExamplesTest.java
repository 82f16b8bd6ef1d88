package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * The README's Java examples are the code between the {@code README:name} markers below: each test
 * runs its example, and {@link #theReadmeShowsExactlyTheseExamples()} fails if the README drifts.
 */
class ReadmeExamplesTest {
  private static final Logger log = LoggerFactory.getLogger(ReadmeExamplesTest.class);

  /** Stands in for a mail client. */
  static final class Mailer {
    final ConcurrentLinkedQueue<String> sent = new ConcurrentLinkedQueue<>();

    void send(String template, String to) {
      sent.add(template + " -> " + to);
    }
  }

  /** Stands in for a webhook client: the first call fails, as a flaky endpoint would. */
  static final class Webhook {
    final AtomicInteger calls = new AtomicInteger();

    int post(String url, int attempt) throws IOException {
      if (calls.incrementAndGet() == 1) {
        throw new IOException("503 from " + url);
      }
      return 200;
    }
  }

  @Test
  void quickstart() throws Exception {
    Mailer mailer = new Mailer();
    Webhook webhook = new Webhook();
    // README:quickstart
    Task<Integer> delivery;
    try (WorkQueue queue = WorkQueue.builder("outbox").concurrency(16).build()) {
      queue.start();

      // Fire and forget: runs on a virtual thread, retried with backoff if it throws.
      queue.submit(ctx -> mailer.send("welcome", "ada@example.com"));

      // Configure a task, enqueue it, and await its result.
      delivery = queue.enqueue(
          Task.ofJob(ctx -> webhook.post("https://example.com/hook", ctx.attempt()))
              .named("webhook-42")
              .retries(5)
              .backoff(Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(30)))
              .attemptTimeout(Duration.ofSeconds(10))
              .after(task -> log.info("{} ended {}", task.name(), task.state())));
    } // close() drains: every accepted task runs to its end
    int status = delivery.await(); // done already: close() waited for it
    // README:end
    assertEquals(200, status);
    assertEquals(2, webhook.calls.get(), "the first call failed and was retried");
    assertEquals(List.of("welcome -> ada@example.com"), List.copyOf(mailer.sent));
  }

  @Test
  void shutdownWithADeadline() throws Exception {
    WorkQueue queue = WorkQueue.builder("webhooks").concurrency(1).abandonAfter(Duration.ofSeconds(5)).build();
    queue.start();
    CountDownLatch slow = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    queue.submit(ctx -> {
      started.countDown();
      slow.await(); // interrupted by the shutdown
    });
    queue.enqueue(Task.of(ctx -> {}).named("never-started"));
    started.await();
    // README:shutdown
    ShutdownReport report = queue.shutdown(Duration.ofMillis(100));
    for (TaskSnapshot left : report.cancelled()) {
      log.warn("{} was {} after {} attempt(s); last error: {}",
          left.name(), left.state(), left.attempts(), left.lastError());
    }
    // README:end
    assertEquals(
        List.of(TaskState.READY, TaskState.RUNNING),
        report.cancelled().stream().map(TaskSnapshot::state).sorted().toList());
    assertEquals("never-started", report.cancelled().getFirst().name());
    assertTrue(report.abandoned().isEmpty());
    assertTrue(queue.isShutdown());
  }

  /** The payload of the typed-task example. */
  record Welcome(String address) {}

  /** Stands in for a mail API that drops a second request with the same idempotency key. */
  static final class Outbox {
    final Map<String, String> byKey = new ConcurrentHashMap<>();

    void send(String to, String idempotencyKey) {
      byKey.putIfAbsent(idempotencyKey, to);
    }
  }

  @Test
  void typedTasks() throws Exception {
    Outbox outbox = new Outbox();
    // README:typed
    // A codec over Jackson 3 (tools.jackson.core:jackson-databind); loomwork ships no JSON library.
    JsonMapper json = JsonMapper.builder().build();
    TaskCodec<Welcome> codec = new TaskCodec<>() {
      @Override
      public String encode(Welcome welcome) {
        return json.writeValueAsString(welcome);
      }

      @Override
      public Welcome decode(String text) {
        return json.readValue(text, Welcome.class);
      }
    };
    TaskType<Welcome> welcome = TaskType.of("email.welcome", codec);

    try (WorkQueue queue = WorkQueue.builder("email")
        // The task id is stable across attempts and re-queues: the mail API's idempotency key.
        .handle(welcome, (ctx, w) -> outbox.send(w.address(), ctx.taskId()))
        .build()) {
      queue.start();
      queue.submit(welcome, new Welcome("ada@example.com"));
    }
    // README:end
    assertEquals(List.of("ada@example.com"), List.copyOf(outbox.byKey.values()));
  }

  @Test
  void requeueAReport() throws Exception {
    TaskType<Welcome> welcome = TaskType.of("email.welcome", new JacksonCodec<>(Welcome.class));
    Outbox outbox = new Outbox();
    Path reportFile = Files.createTempFile("loomwork-report", ".jsonl");
    WorkQueue cut = WorkQueue.builder("email").handle(welcome, (ctx, w) -> {}).build();
    cut.submit(welcome, new Welcome("ada@example.com"));
    cut.enqueue(Task.of(ctx -> {}).named("a closure"));
    try (Writer out = Files.newBufferedWriter(reportFile)) {
      cut.shutdownNow().writeJsonLines(out); // never started: both tasks are in the report
    }
    WorkQueue queue =
        WorkQueue.builder("email").handle(welcome, (ctx, w) -> outbox.send(w.address(), ctx.taskId())).build();
    queue.start();
    // README:requeue
    // At the next start, run again what the last shutdown cut: typed tasks keep their ids.
    try (Reader report = Files.newBufferedReader(reportFile)) {
      RequeueResult result = queue.requeue(report);
      log.info("{} re-queued, {} already queued, {} closures left out, skipped: {}",
          result.requeued(), result.duplicates(), result.notRequeueable(), result.skipped());
    }
    // README:end
    queue.shutdown();
    Files.delete(reportFile);
    assertEquals(List.of("ada@example.com"), List.copyOf(outbox.byKey.values()));
  }

  @Test
  void theReadmeShowsExactlyTheseExamples() throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    int java = checkExamples(readme, "src/test/java/dev/loomwork/ReadmeExamplesTest.java", "java")
        + checkExamples(readme, "src/test/java/dev/loomwork/ObservabilityTest.java", "java")
        + checkExamples(readme, "src/test/java/dev/loomwork/postgres/DurableReadmeExampleTest.java", "java");
    int kotlin = checkExamples(readme, "src/test/kotlin/dev/loomwork/kotlin/KotlinReadmeExamplesTest.kt", "kotlin");
    assertEquals(7, java, "Java examples found");
    assertEquals(3, kotlin, "Kotlin examples found");
  }

  /** Asserts that README.md shows every marked region of {@code file}; returns how many there are. */
  private static int checkExamples(String readme, String file, String language) throws IOException {
    String source = Files.readString(Path.of(file));
    Matcher m = Pattern.compile("// README:([\\w-]+)\\n(.*?)\\n\\s*// README:end", Pattern.DOTALL).matcher(source);
    int found = 0;
    while (m.find()) {
      found++;
      String name = m.group(1);
      String block = "<!-- example: " + name + " -->\n```" + language + "\n" + dedent(m.group(2)) + "\n```";
      assertTrue(readme.contains(block), () -> "README.md must show the example '" + name + "' as:\n" + block);
    }
    return found;
  }

  static String dedent(String code) {
    List<String> lines = code.lines().toList();
    int indent = lines.stream().filter(l -> !l.isBlank())
        .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
    return String.join("\n", lines.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).toList());
  }
}
