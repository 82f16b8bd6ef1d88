package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * The docs' Java examples are the code between the {@code README:name} markers below (and in the other
 * tests that mark regions): each test runs its example, and {@link #theReadmeShowsExactlyTheseExamples()}
 * fails if README.md or a page of docs/ drifts from them, or shows Java or Kotlin code that no test runs.
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
  void payloadVersion() {
    JacksonCodec<Welcome> welcomeCodecV2 = new JacksonCodec<>(Welcome.class);
    // README:payload-version
    // The new release: Welcome gained a required field that the old release's codec rejects.
    TaskType<Welcome> welcome = TaskType.of("email.welcome", welcomeCodecV2).withVersion(2);
    // README:end
    assertEquals(2, welcome.version());
    assertEquals(1, TaskType.of("email.welcome", welcomeCodecV2).version(), "1 unless set");
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
    Map<String, Region> regions = regions(Path.of("src/test"));
    assertTrue(regions.size() >= 10, () -> "the marked regions of the tests: " + regions.keySet());
    assertTrue(regions.values().stream().anyMatch(r -> r.language().equals("kotlin")), "Kotlin examples found");
    Map<String, String> pages = new LinkedHashMap<>();
    for (Path page : MarkdownDocs.pages(Path.of(""))) {
      pages.put(page.toString(), Files.readString(page));
    }
    assertEquals(List.of(), exampleProblems(regions, pages), "README.md and docs/*.md against the tests' examples");
  }

  /** A region of a test between {@code // README:name} and {@code // README:end}: an example the docs show. */
  record Region(String file, String language, String code) {}

  private static final Pattern REGION = Pattern.compile("// README:([\\w-]+)\\n(.*?)\\n\\s*// README:end", Pattern.DOTALL);
  private static final Pattern MARKER = Pattern.compile("<!-- example: ([\\w-]+) -->");

  /** The marked regions of every Java and Kotlin file under {@code dir}, by name; a name marked twice fails. */
  static Map<String, Region> regions(Path dir) throws IOException {
    Map<String, Region> regions = new TreeMap<>();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(p -> p.toString().endsWith(".java") || p.toString().endsWith(".kt")).sorted().toList();
    }
    for (Path file : files) {
      Matcher m = REGION.matcher(Files.readString(file));
      while (m.find()) {
        String language = file.toString().endsWith(".kt") ? "kotlin" : "java";
        Region previous = regions.put(m.group(1), new Region(file.toString(), language, dedent(m.group(2))));
        String name = m.group(1);
        assertTrue(previous == null, () -> "the example '" + name + "' is marked in " + previous.file() + " and in " + file);
      }
    }
    return regions;
  }

  /**
   * What is wrong between the tests' regions and the pages (name to text): a {@code java} or {@code
   * kotlin} block without a marker line right above it, a marker above no block or naming no region,
   * a block whose language or text differs from its region, a region shown on no page or twice.
   * Empty when every example shown is the code of a test, and every region is shown once.
   */
  static List<String> exampleProblems(Map<String, Region> regions, Map<String, String> pages) {
    List<String> problems = new ArrayList<>();
    Map<String, List<String>> shown = new TreeMap<>();
    for (var page : pages.entrySet()) {
      List<MarkdownDocs.Fence> fences = MarkdownDocs.fences(page.getValue());
      Set<Integer> markedFences = new HashSet<>();
      for (MarkdownDocs.Fence fence : fences) {
        String where = page.getKey() + ":" + fence.line();
        Matcher marker = MARKER.matcher(fence.lineBefore().strip());
        if (!marker.matches()) {
          if (fence.language().equals("java") || fence.language().equals("kotlin")) {
            problems.add(where + ": a " + fence.language() + " block without a line <!-- example: NAME --> above it");
          }
          continue;
        }
        markedFences.add(fence.line() - 1);
        String name = marker.group(1);
        shown.computeIfAbsent(name, n -> new ArrayList<>()).add(where);
        Region region = regions.get(name);
        if (region == null) {
          problems.add(where + ": the example '" + name + "' is no region of a test (// README:" + name + " ... // README:end)");
        } else if (!fence.language().equals(region.language())) {
          problems.add(where + ": the example '" + name + "' is " + region.language() + " (" + region.file() + "), shown as '"
              + fence.language() + "'");
        } else if (!fence.code().equals(region.code())) {
          problems.add(where + ": the example '" + name + "' differs from " + region.file() + ", which runs it as:\n"
              + region.code());
        }
      }
      List<String> lines = page.getValue().lines().toList();
      for (int i = 0; i < lines.size(); i++) {
        if (MARKER.matcher(lines.get(i).strip()).matches() && !markedFences.contains(i + 1)) {
          problems.add(page.getKey() + ":" + (i + 1) + ": a marker with no code block right below it");
        }
      }
    }
    for (var region : regions.entrySet()) {
      List<String> where = shown.getOrDefault(region.getKey(), List.of());
      if (where.isEmpty()) {
        problems.add("the example '" + region.getKey() + "' of " + region.getValue().file() + " is shown on no page; show it as:\n"
            + "<!-- example: " + region.getKey() + " -->\n```" + region.getValue().language() + "\n" + region.getValue().code()
            + "\n```");
      } else if (where.size() > 1) {
        problems.add("the example '" + region.getKey() + "' is shown more than once: " + where);
      }
    }
    return problems;
  }

  @Test
  void theExampleCheckFailsOnADriftedUnmarkedOrUnknownExample() {
    Map<String, Region> regions = Map.of(
        "hello", new Region("Hello.java", "java", "int x = 1;"),
        "unshown", new Region("Unshown.kt", "kotlin", "val y = 2"));
    String good = "# Page\n\n<!-- example: hello -->\n```java\nint x = 1;\n```\n";
    assertEquals(
        List.of("the example 'unshown' of Unshown.kt is shown on no page; show it as:\n<!-- example: unshown -->\n```kotlin\nval y = 2\n```"),
        exampleProblems(regions, Map.of("good.md", good)));

    Map<String, String> bad = new LinkedHashMap<>();
    bad.put("drifted.md", "<!-- example: hello -->\n```java\nint x = 2;\n```\n");
    bad.put("unmarked.md", "Text.\n\n```kotlin\nval y = 2\n```\n\n```sh\nls\n```\n");
    bad.put("unknown.md", "<!-- example: nobody -->\n```java\nint z;\n```\n\n<!-- example: unshown -->\n\n```kotlin\nval y = 2\n```\n");
    List<String> problems = exampleProblems(regions, bad);
    assertEquals(6, problems.size(), () -> String.join("\n", problems));
    assertTrue(problems.get(0).startsWith("drifted.md:2: the example 'hello' differs from Hello.java"), problems::toString);
    assertEquals("unmarked.md:3: a kotlin block without a line <!-- example: NAME --> above it", problems.get(1));
    assertTrue(problems.get(2).startsWith("unknown.md:2: the example 'nobody' is no region of a test"), problems::toString);
    assertEquals("unknown.md:8: a kotlin block without a line <!-- example: NAME --> above it", problems.get(3));
    assertEquals("unknown.md:6: a marker with no code block right below it", problems.get(4));
    assertTrue(problems.get(5).startsWith("the example 'unshown' of Unshown.kt is shown on no page"), problems::toString);
  }

  @Test
  void regionsAreReadFromTheTestsMarkers(@TempDir Path dir) throws IOException {
    String open = "// " + "README:"; // split, so that this file's own regions stay the real ones
    Files.writeString(dir.resolve("A.java"), "class A {\n  void a() {\n    " + open + "one\n    int x = 1;\n      x++;\n    "
        + open + "end\n  }\n}\n");
    Files.writeString(dir.resolve("B.kt"), open + "two\nval y = 2\n" + open + "end\n");
    Map<String, Region> regions = regions(dir);
    assertEquals(List.of("one", "two"), List.copyOf(regions.keySet()));
    assertEquals(new Region(dir.resolve("A.java").toString(), "java", "int x = 1;\n  x++;"), regions.get("one"));
    assertEquals("kotlin", regions.get("two").language());
  }

  static String dedent(String code) {
    List<String> lines = code.lines().toList();
    int indent = lines.stream().filter(l -> !l.isBlank())
        .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
    return String.join("\n", lines.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).toList());
  }
}
