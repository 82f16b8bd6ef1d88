package dev.loomwork.demo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loomwork.Backoff;
import dev.loomwork.QueueHealth;
import dev.loomwork.QueueStats;
import dev.loomwork.RecurringTask;
import dev.loomwork.RequeueResult;
import dev.loomwork.RetryPolicy;
import dev.loomwork.Schedule;
import dev.loomwork.ShutdownReport;
import dev.loomwork.Task;
import dev.loomwork.TaskCodec;
import dev.loomwork.TaskContext;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import dev.loomwork.admin.MemoryAdmin;
import dev.loomwork.console.Console;
import dev.loomwork.console.ConsoleAuthorizer;
import dev.loomwork.demo.DemoServer.Request;
import dev.loomwork.demo.DemoServer.Response;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.io.Writer;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The seed scenario of loomwork, end to end, in one process: a signup API that moves the welcome
 * email and the webhook delivery out of the request path into two {@link WorkQueue}s, a webhook
 * receiver that is down for a fraction of the requests (so deliveries are retried with backoff), a
 * Prometheus endpoint and a health endpoint ({@code /metrics} and {@code /health/ready}, on their own
 * port), and a signal-driven shutdown:
 *
 * <ul>
 *   <li>first SIGINT or SIGTERM: stop taking signups (the API answers 503 with {@code Retry-After}),
 *       drain both queues with progress lines, exit 0;
 *   <li>second signal while draining: cancel what is left, write the shutdown report as JSON Lines
 *       to a file named in the output, exit 130 (SIGINT) or 143 (SIGTERM);
 *   <li>{@code --reuse-port}: the API and the metrics port are bound with {@code SO_REUSEPORT}, so
 *       that a second demo can bind the same {@code --port} and {@code --metrics-port}; the first
 *       signal then hands both over: they stop accepting at once (the kernel sends new connections
 *       to the other process), finish the requests on their open connections with {@code
 *       Connection: close}, and only then does the demo drain;
 *   <li>{@code --requeue FILE} at the next start: re-queue the tasks of that report before taking
 *       signups.
 *   <li>{@code --store postgres}: both queues are durable, on the PostgreSQL that {@code --pg-url}
 *       names or on an embedded one this demo starts (and prints the {@code --pg-url} of, for a
 *       second demo to share the queues with). A signup enqueues its two tasks with the {@link
 *       DemoStore}'s store in one transaction, and any demo on the database runs them. A cut drain
 *       releases its tasks to the store instead of writing a report.
 * </ul>
 *
 * <p>Both jobs are typed tasks ({@link #WELCOME}, {@link #WEBHOOK}) with JSON payloads, so that a
 * report can carry them to the next process. The webhook carries the task's id as its {@code
 * Idempotency-Key}: a delivery whose attempt a shutdown cut may have reached the receiver, and is
 * then delivered again by the process that re-queues it, under the same key. {@code --webhook-url}
 * points the demo at a receiver outside it, so that one receiver can count the keys of two demo
 * processes.
 *
 * <p>It lives in the test source set so that it is not part of the library artifact. Run it with
 * {@code ./mvnw -q -Pdemo test-compile exec:exec@demo -Ddemo.args="--load 200"}; {@code --help} lists the
 * options. Lines that start with {@code demo:}, {@code requeue:}, {@code load:}, {@code shutdown:},
 * {@code report:} and {@code final:} are meant to be read by people and by {@code DemoProcessTest}.
 */
public final class SignupDemo {
  /** Exit status when the drain deadline passed and work was cut. */
  static final int EXIT_DEADLINE = 1;
  /** Exit statuses of a drain cut by a second signal: 128 + the signal's number, as a shell reports it. */
  static final int EXIT_SECOND_SIGINT = 130;
  static final int EXIT_SECOND_SIGTERM = 143;
  /** The {@code Retry-After} of the API's 503 while the demo drains, in seconds. */
  static final int RETRY_AFTER_SECONDS = 1;
  /** With {@code --reuse-port}: how long the first signal waits for the API's open connections. */
  static final Duration HANDOVER_GRACE = Duration.ofSeconds(10);

  private static final Pattern EMAIL = Pattern.compile("[^\\s\"\\\\<>@]+@[^\\s\"\\\\<>@]+");
  private static final PrintStream out = System.out;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The payload of a welcome email: the signup it welcomes. */
  record Welcome(long signup, String address) {}

  /** The payload of a webhook delivery: the signup event it reports. */
  record SignupEvent(long signup, String email) {}

  /** The welcome email; its handler sends it to the {@link EmailSink}. */
  static final TaskType<Welcome> WELCOME = TaskType.of("demo.email.welcome", json(Welcome.class));

  /** The webhook delivery; its handler posts the event to the receiver. */
  static final TaskType<SignupEvent> WEBHOOK = TaskType.of("demo.webhook.signup", json(SignupEvent.class));

  /** The digest of the signups so far, a recurring task: its payload is the address it goes to. */
  static final TaskType<String> DIGEST = TaskType.of("demo.email.digest", json(String.class));

  /** The queues' names: in PostgreSQL, the {@code queue} of their tasks' rows. */
  static final String EMAIL_QUEUE = "email";
  static final String WEBHOOK_QUEUE = "webhooks";

  private final Options options;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Counter signups;
  private final EmailSink emailSink;
  /** The receiver in this process, or null if the webhooks go to {@code --webhook-url}. */
  private final @Nullable WebhookReceiver receiver;
  private final URI webhookUri;
  private final HttpClient webhookClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  /** With {@code --store postgres}: the store of both queues; null for queues in memory. */
  private final @Nullable DemoStore store;
  private final WorkQueue email;
  private final WorkQueue webhooks;
  /**
   * A queue in memory, in every mode, for the digest every minute: a recurring task of its own, so
   * that the email and webhook queues hold one task per signup.
   */
  private final WorkQueue digest;
  /** The API's and the metrics and health port's server (Jetty). */
  private final DemoServer http;
  /** The web console of both queues (the store's admin, or the queues in memory), on 127.0.0.1. */
  private final Console console;
  /**
   * Set at the first signal (with --reuse-port, once the hand-over is done): signups are answered
   * 503 with Retry-After, and the health endpoint says the demo is draining.
   */
  private volatile boolean refusing;
  /**
   * Guards {@link #nextId} and the enqueues of a signup's two tasks in memory, so that a task's
   * name carries the number its queue gives it (its id's last part): {@code webhook-7} has id
   * {@code …-7}. Without it, two signups enqueue in either order and the numbers cross.
   */
  private final ReentrantLock signupOrder = new ReentrantLock();
  private long nextId; // guarded by signupOrder in memory; an AtomicLong's job for the durable signups
  private final AtomicLong nextDurableId = new AtomicLong();
  private final ConcurrentLinkedQueue<CompletableFuture<?>> accepted = new ConcurrentLinkedQueue<>();

  private final AtomicInteger signals = new AtomicInteger();
  private final CompletableFuture<String> firstSignal = new CompletableFuture<>();
  private final CompletableFuture<String> secondSignal = new CompletableFuture<>();
  private final CompletableFuture<String> laterSignal = new CompletableFuture<>();
  private volatile boolean drained;
  private final CompletableFuture<Void> scrapedAfterDrain = new CompletableFuture<>();

  private SignupDemo(Options options, @Nullable DemoStore store) throws Exception {
    this.options = options;
    this.store = store;
    signups = Counter.builder("demo.signups").description("signups accepted by POST /signup").register(registry);
    emailSink = new EmailSink(options.emailDelay);
    if (options.webhookUrl != null) {
      receiver = null;
      webhookUri = options.webhookUrl;
    } else {
      receiver = new WebhookReceiver(options.failRate, options.webhookDelay, options.receiverPort);
      webhookUri = receiver.uri();
    }
    // A first round trip builds Jackson's serialisers now rather than in the first signups' path.
    WELCOME.codec().decode(WELCOME.codec().encode(new Welcome(0, "warm-up@example.com")));
    WEBHOOK.codec().decode(WEBHOOK.codec().encode(new SignupEvent(0, "warm-up@example.com")));
    RetryPolicy policy = RetryPolicy.defaults()
        .withRetries(options.retries)
        .withBackoff(Backoff.exponential(options.backoff, options.maxBackoff));
    WorkQueue.Builder emailQueue = WorkQueue.builder(EMAIL_QUEUE)
        .concurrency(8)
        .retryPolicy(policy)
        .progressInterval(options.progress)
        .meterRegistry(registry)
        .handle(WELCOME, (ctx, welcome) -> emailSink.send(new EmailSink.Email(welcome.address(), "Welcome!",
            "Hello " + welcome.address() + ", thanks for signing up.")));
    WorkQueue.Builder webhookQueue = WorkQueue.builder(WEBHOOK_QUEUE)
        .concurrency(options.webhookConcurrency)
        .retryPolicy(policy.withAttemptTimeout(options.webhookTimeout))
        .progressInterval(options.progress)
        .meterRegistry(registry)
        .handle(WEBHOOK, this::deliverWebhook);
    if (store != null) {
      // Durable: the queues claim their tasks from PostgreSQL, shared with any demo on that database.
      emailQueue.store(store.store());
      webhookQueue.store(store.store());
    }
    email = emailQueue.build();
    webhooks = webhookQueue.build();
    digest = WorkQueue.builder("digest")
        .handle(DIGEST, (ctx, to) -> out.println("digest: to " + to + " for " + ctx.scheduledAt() + ": "
            + (long) signups.count() + " signups, " + emailSink.sends() + " emails sent"))
        .recurring(RecurringTask.of("signups-digest", Schedule.cron("* * * * *", "UTC"), DIGEST, "ops@example.com"))
        .build();

    http = new DemoServer(options.port, options.metricsPort, options.reusePort, this::api, this::operations);
    // The console on 127.0.0.1 only, so its actions (retry, cancel, delete, pause) are this machine's.
    console = Console.builder()
        .admin(store != null ? store.store().admin() : MemoryAdmin.of(email, webhooks))
        .authorizer(ConsoleAuthorizer.allowAll())
        .port(options.consolePort)
        .build();
  }

  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("demo: " + e.getMessage());
      System.err.println(Options.USAGE);
      System.exit(2);
      return;
    }
    if (options.help) {
      out.println(Options.USAGE);
      return;
    }
    List<String> report = List.of();
    if (options.requeue != null) {
      try {
        report = Files.readAllLines(options.requeue, StandardCharsets.UTF_8);
      } catch (IOException e) {
        System.err.println("demo: --requeue: cannot read " + options.requeue + ": " + e);
        System.exit(2);
        return;
      }
    }
    DemoStore store = null;
    if (options.postgres) {
      store = openStore(options.pgUrl);
      if (store == null) {
        System.exit(2);
        return;
      }
    }
    SignupDemo demo;
    try {
      demo = new SignupDemo(options, store);
    } catch (BindException e) {
      if (store != null) {
        store.close();
      }
      System.err.println("demo: cannot bind a port (" + e.getMessage() + "); is another demo running? Choose other"
          + " --port, --metrics-port or --receiver-port values, or 0 for any free port; two demos share a --port only"
          + " if both have --reuse-port");
      System.exit(2);
      return;
    }
    int status = demo.run(report);
    if (store != null) {
      demo.closeStore(store);
    }
    out.println("demo: exit status " + status + switch (status) {
      case 0 -> " (drained)";
      case EXIT_DEADLINE -> " (the drain deadline passed; cut)";
      case EXIT_SECOND_SIGINT -> " (a second SIGINT cut the drain)";
      case EXIT_SECOND_SIGTERM -> " (a second SIGTERM cut the drain)";
      default -> "";
    });
    System.exit(status);
  }

  /**
   * {@code --store postgres}: the store at {@code url}, or on an embedded server when it is null.
   * Null, after saying why on standard error, if neither can be had.
   */
  private static @Nullable DemoStore openStore(@Nullable String url) {
    if (url != null) {
      try {
        return DemoStore.connect(url);
      } catch (SQLException e) {
        System.err.println("demo: --pg-url: cannot use the database at " + DemoStore.redacted(url) + ": "
            + e.getMessage() + " (is its server up? An embedded one lives as long as the demo that printed its URL)");
        return null;
      }
    }
    out.println("demo: --store postgres without --pg-url: starting an embedded PostgreSQL");
    try {
      return DemoStore.startEmbedded();
    } catch (IOException | SQLException | RuntimeException e) {
      System.err.println("demo: --store postgres: cannot start an embedded PostgreSQL: " + e
          + "; give the JDBC URL of a server with --pg-url instead");
      return null;
    }
  }

  /**
   * The end of a demo with {@code --store postgres}: closes its pool; if it started the embedded
   * server, first waits until no other client (another demo sharing the queues) is connected, then
   * stops it. A signal stops the wait.
   */
  private void closeStore(DemoStore s) throws IOException, InterruptedException {
    if (!s.embedded()) {
      s.close(); // the pool's connections: the demo that owns the embedded server waits for them
      return;
    }
    int others;
    try {
      others = s.otherConnections();
    } catch (SQLException e) {
      others = 0;
    }
    if (others > 0) {
      int seen = signals.get();
      out.println("shutdown: the embedded PostgreSQL serves " + others + " connection(s) of other clients, such as"
          + " a demo started with --pg-url " + DemoStore.redacted(s.url())
          + ": it stops once they have closed; a signal stops it now");
      boolean none = s.awaitNoOtherConnections(() -> signals.get() > seen);
      out.println(none
          ? "shutdown: no other client is connected"
          : "shutdown: a signal: stopping the embedded PostgreSQL under its other clients");
    }
    long unfinished = 0;
    try {
      unfinished = s.unfinished().values().stream().mapToLong(Long::longValue).sum();
    } catch (SQLException e) {
      // the server is going away anyway
    }
    s.close();
    out.println("shutdown: embedded PostgreSQL stopped, its data directory " + s.dataDirectory() + " deleted"
        + (unfinished == 0 ? "" : " with the " + unfinished + " unfinished task(s) it held"));
  }

  private int run(List<String> report) throws Exception {
    // Signals first: from the "ready" line on, a signal drains rather than kills.
    for (String name : List.of("INT", "TERM")) {
      if (Signal.handle(new Signal(name), this::onSignal) == SignalHandler.SIG_IGN) {
        // The JVM keeps a signal ignored if it was ignored when the process started, as a shell does
        // for a job it puts in the background without job control.
        out.println("demo: warning: SIG" + name + " was ignored when this process started, so it stays"
            + " ignored; send the other signal, or start the demo with env --default-signal=" + name);
      }
    }
    email.start();
    webhooks.start();
    digest.start();
    if (options.requeue != null) {
      requeue(options.requeue, report); // before the first signup, after start: a full queue drains
    }
    http.start();
    out.println("demo: signup API   POST " + apiUrl() + "  (body: an email address)" + (http.reusePort()
        ? "; port bound with SO_REUSEPORT: a second demo with --reuse-port --port " + http.apiAddress().getPort()
            + " can take over"
        : ""));
    out.println("demo: webhooks     " + webhookUri + (receiver == null
        ? "  (--webhook-url: a receiver outside the demo)"
        : "  (answers 503 to " + percent(options.failRate) + " of requests, after "
            + options.webhookDelay.toMillis() + " ms)"));
    out.println("demo: metrics      " + url("/metrics") + (http.reusePort()
        ? "  (SO_REUSEPORT: taken over by a second demo with --reuse-port --metrics-port "
            + http.metricsAddress().getPort() + ")"
        : ""));
    out.println("demo: health       " + url("/health/ready") + "  (JSON; 200 while taking signups, 503 draining)");
    console.start();
    out.println("demo: console      " + console.uri() + "  (queues, tasks, workers; actions enabled, 127.0.0.1 only)");
    DemoStore s = store;
    if (s != null) {
      out.println("demo: store        PostgreSQL " + DemoStore.redacted(s.url()) + (s.embedded()
          ? "  (embedded, started by this demo: data in " + s.dataDirectory() + ", log " + s.log()
              + "; it stops when this demo ends, once the other demos' connections have closed)"
          : "  (--pg-url)") + "; queues " + EMAIL_QUEUE + " and " + WEBHOOK_QUEUE + " are durable");
      out.println("demo: share        another demo runs these queues too with: --store postgres --pg-url "
          + DemoStore.redacted(s.url()));
    }
    out.println("demo: ready, pid " + ProcessHandle.current().pid()
        + "; Ctrl-C (SIGINT) or SIGTERM drains and stops, a second Ctrl-C cancels");

    if (options.load > 0) {
      Thread.ofPlatform().daemon().name("demo-load").start(this::load);
    } else if (options.stopAfterLoad) {
      stopAfterLoad("demo: --stop-after-load with no load");
    }

    String signal = firstSignal.join();
    if (http.reusePort()) {
      handOver(signal);
      refusing = true; // a request still arriving here (none should) is answered 503
      out.println("shutdown: no more signups; draining " + outstanding(email) + " email and " + outstanding(webhooks)
          + " webhook task(s)" + inTheStore() + "; the metrics port went with the hand-over");
    } else {
      // The listener stays open: a client gets an answer it can act on, not a refused connection.
      refusing = true;
      http.closeConnectionsAfterEachAnswer();
      out.println("shutdown: SIG" + signal + " received: no more signups (answered 503, Retry-After: "
          + RETRY_AFTER_SECONDS + "); draining " + outstanding(email) + " email and " + outstanding(webhooks)
          + " webhook task(s)" + inTheStore() + "; metrics at " + url("/metrics"));
    }

    CompletableFuture<List<ShutdownReport>> drain = new CompletableFuture<>();
    Thread.ofPlatform().name("demo-drain").start(() -> {
      try {
        drain.complete(WorkQueue.join(options.drainTimeout, email, webhooks));
      } catch (Throwable e) {
        drain.completeExceptionally(e);
      }
    });
    CompletableFuture.anyOf(drain, secondSignal).exceptionally(e -> null).join();

    List<ShutdownReport> reports;
    int status;
    if (drain.isDone() && !drain.isCompletedExceptionally()) {
      reports = drain.join();
      status = reports.stream().allMatch(ShutdownReport::drained) ? 0 : EXIT_DEADLINE;
      if (status == 0) {
        out.println("shutdown: drained");
      } else {
        out.println("shutdown: drain deadline of " + options.drainTimeout + " passed; cancelled what was left");
      }
    } else {
      String second = secondSignal.join();
      out.println("shutdown: second SIG" + second + ": cancelling what is left");
      // Both at once: each waits up to abandonAfter for its interrupted attempts.
      try (ExecutorService cut = Executors.newVirtualThreadPerTaskExecutor()) {
        var emailReport = cut.submit(email::shutdownNow);
        var webhookReport = cut.submit(webhooks::shutdownNow);
        reports = List.of(emailReport.get(), webhookReport.get());
      }
      status = "INT".equals(second) ? EXIT_SECOND_SIGINT : EXIT_SECOND_SIGTERM;
    }
    if (store != null) {
      if (status != 0) {
        reportReleased(reports);
      }
    } else if (status != 0) {
      writeReport(reports);
    }
    digest.shutdownNow(); // a digest being written is cut: the next demo writes the next one
    out.println(counts("final:"));
    if (status == 0 && options.finalScrapeWait.isPositive()) {
      lastScrape();
    }
    http.close();
    console.close();
    if (receiver != null) {
      receiver.close();
    }
    return status;
  }

  // ------------------------------------------------------------------------------------------
  // The request path: take the signup, enqueue the slow work, answer at once.
  // ------------------------------------------------------------------------------------------

  private Response api(Request request) {
    if (!request.path().equals("/signup")) {
      return Response.of(404, "not found; POST an email address to /signup\n");
    }
    if (!request.method().equals("POST")) {
      return new Response(405, Map.of("Allow", "POST"), "POST an email address\n");
    }
    if (refusing) {
      return shuttingDown();
    }
    String address = request.bodyText().strip();
    if (!EMAIL.matcher(address).matches()) {
      return Response.of(400, "expected an email address, like ada@example.com\n");
    }
    DemoStore s = store;
    if (s != null) {
      return durableSignup(s, nextDurableId.incrementAndGet(), address);
    }
    long id;
    Task<?> welcome;
    Task<?> hook;
    // Numbering and enqueueing under one lock: the n-th task a queue accepts is its number n, the
    // end of its id, and the name says the same. Only this path enqueues once the demo takes
    // signups (a --requeue went first), so each queue's next number is its count so far plus one.
    // An enqueue waits here only when its queue is full, and the other signups would wait anyway.
    signupOrder.lock();
    try {
      try {
        welcome = email.enqueue(Task.of(WELCOME, new Welcome(nextId + 1, address))
            .named("email-" + (email.stats().submitted() + 1)));
      } catch (RejectedExecutionException e) {
        return shuttingDown();
      }
      try {
        hook = webhooks.enqueue(Task.of(WEBHOOK, new SignupEvent(nextId + 1, address))
            .named("webhook-" + (webhooks.stats().submitted() + 1)));
      } catch (RejectedExecutionException e) {
        welcome.cancel(); // not both: neither, so the client can retry the whole signup
        return shuttingDown();
      }
      id = ++nextId;
    } finally {
      signupOrder.unlock();
    }
    signups.increment();
    accepted.add(welcome.future());
    accepted.add(hook.future());
    return new Response(202, Map.of("Content-Type", "application/json"),
        "{\"id\":" + id + ",\"tasks\":[{\"name\":\"" + welcome.name() + "\",\"id\":\"" + welcome.id()
            + "\"},{\"name\":\"" + hook.name() + "\",\"id\":\"" + hook.id() + "\"}],\"pid\":"
            + ProcessHandle.current().pid() + "}\n");
  }

  /**
   * A signup with {@code --store postgres}: both tasks in one transaction, so that a signup has its
   * email and its webhook or neither. Any demo on the database may run them.
   */
  private Response durableSignup(DemoStore s, long id, String address) {
    long[] ids;
    try {
      // The store keeps a task's retries from its enqueue (not from the queue that runs it): --retries.
      ids = s.enqueueSignup(
          EMAIL_QUEUE, Task.of(WELCOME, new Welcome(id, address)).named("email-" + id).retries(options.retries),
          WEBHOOK_QUEUE,
          Task.of(WEBHOOK, new SignupEvent(id, address)).named("webhook-" + id).retries(options.retries));
    } catch (SQLException e) {
      return new Response(503, Map.of("Retry-After", Integer.toString(RETRY_AFTER_SECONDS)),
          "the store refused the signup (" + e.getMessage() + "); retry in " + RETRY_AFTER_SECONDS + " s\n");
    }
    signups.increment();
    return new Response(202, Map.of("Content-Type", "application/json"),
        "{\"id\":" + id + ",\"tasks\":[" + ids[0] + "," + ids[1] + "],\"pid\":" + ProcessHandle.current().pid()
            + "}\n");
  }

  private static Response shuttingDown() {
    return new Response(503, Map.of("Retry-After", Integer.toString(RETRY_AFTER_SECONDS)),
        "shutting down: no more signups here; retry in " + RETRY_AFTER_SECONDS + " s\n");
  }

  /**
   * Posts the signup event. The task id is the idempotency key: the same for every attempt, and
   * in the process that re-queues the task from a shutdown report.
   */
  private void deliverWebhook(TaskContext ctx, SignupEvent event) throws IOException, InterruptedException {
    String body = JSON.createObjectNode()
        .put("event", "signup")
        .put("id", event.signup())
        .put("email", event.email())
        .toString();
    HttpResponse<Void> response = webhookClient.send(
        HttpRequest.newBuilder(webhookUri)
            .timeout(options.webhookTimeout)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", ctx.taskId())
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.discarding());
    if (response.statusCode() / 100 != 2) {
      throw new IOException(response.statusCode() + " from " + webhookUri);
    }
  }

  /** A codec that writes a payload record as a JSON object, and reads it back strictly. */
  private static <P> TaskCodec<P> json(Class<P> type) {
    return new TaskCodec<>() {
      @Override
      public String encode(P payload) throws JsonProcessingException {
        return JSON.writeValueAsString(payload);
      }

      @Override
      public P decode(String json) throws JsonProcessingException {
        return JSON.readValue(json, type);
      }
    };
  }

  /** The metrics port: {@code GET /metrics} (Prometheus) and {@code GET /health/ready} (JSON). */
  private Response operations(Request request) {
    String path = request.path();
    if (!path.equals("/metrics") && !path.equals("/health/ready")) {
      return Response.of(404, "not found; GET /metrics or /health/ready\n");
    }
    if (!request.method().equals("GET") && !request.method().equals("HEAD")) {
      return new Response(405, Map.of("Allow", "GET, HEAD"), "GET only\n");
    }
    if (path.equals("/health/ready")) {
      return health();
    }
    boolean afterDrain = drained; // read first: this scrape then shows the final counts
    Response scrape = new Response(200, Map.of("Content-Type", PrometheusTextFormatWriter.CONTENT_TYPE),
        registry.scrape());
    if (afterDrain) {
      scrapedAfterDrain.complete(null);
    }
    return scrape;
  }

  /**
   * The readiness probe: 200 while the demo takes signups and both queues accept tasks, 503 once it
   * drains; the body says why, with each queue's {@link QueueHealth} and this process's pid (two
   * demos may share the port during a hand-over). Written by Jackson, so every string is escaped.
   */
  private Response health() {
    List<QueueHealth> queues = List.of(email.health(), webhooks.health());
    boolean ready = !refusing && queues.stream().allMatch(QueueHealth::accepting);
    ObjectNode body = JSON.createObjectNode()
        .put("status", ready ? "ready" : "draining")
        .put("signups", refusing ? "refused" : "accepted")
        .put("pid", ProcessHandle.current().pid());
    ArrayNode list = body.putArray("queues");
    for (QueueHealth h : queues) {
      list.addObject()
          .put("queue", h.queue())
          .put("lifecycle", h.lifecycle().name())
          .put("accepting", h.accepting())
          .put("ready", h.ready())
          .put("waiting", h.waiting())
          .put("running", h.running())
          .put("capacity", h.capacity())
          .put("concurrency", h.concurrency())
          .put("oldestReadyMillis", h.oldestReadyAge().toMillis());
    }
    return new Response(ready ? 200 : 503, ready
        ? Map.of("Content-Type", "application/json")
        : Map.of("Content-Type", "application/json", "Retry-After", Integer.toString(RETRY_AFTER_SECONDS)),
        body + "\n");
  }

  // ------------------------------------------------------------------------------------------
  // Load, signals, shutdown
  // ------------------------------------------------------------------------------------------

  private void load() {
    try {
      LoadGenerator.Result result =
          new LoadGenerator(URI.create(apiUrl()), options.load, out, onTerminal()).run();
      out.println(String.format(Locale.ROOT,
          "load: done: %d sent, %d accepted, %d refused, %d failed (%d retried) in %.1f s (%.0f signups/s)",
          result.sent(), result.accepted(), result.refused(), result.failed(), result.retried(),
          result.elapsed().toMillis() / 1000.0, result.rate()));
      if (store != null) {
        // Durable: any demo on the database may run the tasks; wait until the store has them all done.
        if (awaitStoreSettled(store)) {
          out.println(counts("load: settled: the store holds no unfinished task; this demo:"));
          if (options.stopAfterLoad) {
            stopAfterLoad("load: --stop-after-load");
          }
        }
        return;
      }
      // Wait for the work those signups started, then show where it ended.
      if (options.stopAfterLoad) {
        stopAfterLoad("load: --stop-after-load");
        return;
      }
      CompletableFuture.allOf(accepted.toArray(CompletableFuture[]::new)).exceptionally(e -> null).join();
      if (!firstSignal.isDone()) {
        out.println(counts("load: settled:"));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Waits until the store holds no unfinished task of either queue; false if a signal came first
   * or the store did not answer.
   */
  private boolean awaitStoreSettled(DemoStore s) throws InterruptedException {
    while (!firstSignal.isDone()) {
      try {
        Map<String, Long> unfinished = s.unfinished();
        if (unfinished.getOrDefault(EMAIL_QUEUE, 0L) == 0 && unfinished.getOrDefault(WEBHOOK_QUEUE, 0L) == 0) {
          return true;
        }
      } catch (SQLException e) {
        out.println("load: the store did not answer: " + e.getMessage());
        return false;
      }
      Thread.sleep(100);
    }
    return false;
  }

  /** Shuts down as on SIGTERM, unless a signal came first. */
  private void stopAfterLoad(String prefix) {
    if (signals.compareAndSet(0, 1)) {
      out.println(prefix + ": shutting down as on SIGTERM");
      firstSignal.complete("TERM");
    }
  }

  /**
   * {@code --requeue FILE}: re-queues the typed tasks of a shutdown report into both queues; each
   * line goes to the queue that has its handler.
   */
  private void requeue(Path file, List<String> lines) throws IOException {
    RequeueResult r = WorkQueue.requeue(new StringReader(String.join("\n", lines)), email, webhooks);
    out.println("requeue: " + r.requeued() + " requeued, " + r.duplicates() + " duplicates, "
        + r.skipped().size() + " skipped, " + r.notRequeueable() + " closures from " + file.toAbsolutePath());
    for (WorkQueue q : List.of(email, webhooks)) {
      out.println("requeue:   queue " + q.name() + ": " + q.stats().submitted() + " requeued, before any signup");
    }
    r.skipped().forEach(reason -> out.println("requeue:   skipped " + reason));
  }

  private void onSignal(Signal signal) {
    String name = signal.getName();
    switch (signals.incrementAndGet()) {
      case 1 -> firstSignal.complete(name);
      case 2 -> secondSignal.complete(name);
      default -> laterSignal.complete(name);
    }
  }

  /** Keeps /metrics up until it is scraped once more, so that the final counts are collected. */
  private void lastScrape() {
    drained = true;
    out.println("shutdown: waiting up to " + options.finalScrapeWait.toSeconds() + " s for a last scrape of "
        + url("/metrics"));
    try {
      CompletableFuture.anyOf(scrapedAfterDrain, secondSignal, laterSignal)
          .get(options.finalScrapeWait.toMillis(), TimeUnit.MILLISECONDS);
      out.println("shutdown: " + (scrapedAfterDrain.isDone() ? "scraped" : "not scraped") + "; exiting");
    } catch (TimeoutException e) {
      out.println("shutdown: no last scrape; exiting");
    } catch (Exception e) {
      out.println("shutdown: " + e);
    }
  }

  /**
   * A cut shutdown of durable queues: its cut tasks went back to the store, their attempt given
   * back, for another demo on the database (or the next start on it) to run; there is no report to
   * write and none to re-queue.
   */
  private void reportReleased(List<ShutdownReport> reports) {
    long released = 0;
    long listed = 0;
    for (ShutdownReport report : reports) {
      Counter counter = registry.find("loomwork.store.released").tag("queue", report.queue()).counter();
      long r = counter == null ? 0 : (long) counter.count();
      released += r;
      listed += report.cancelled().size() + report.abandoned().size();
      out.println("report: queue " + report.queue() + ": " + report.succeeded() + " succeeded, " + report.failed()
          + " failed here; " + r + " released to the store" + (report.abandoned().isEmpty()
              ? ""
              : ", " + report.abandoned().size() + " abandoned (still running here: the store's rescuer returns"
                  + " them once this demo's lease has expired)"));
    }
    out.println("report: none written: the " + released + " task(s) this demo cut are back in the store, their"
        + " attempt given back, for the demos on its database to run" + (store != null && store.embedded()
            ? " (this demo's embedded PostgreSQL stops once no other demo is connected, and what it holds then"
                + " goes with it)"
            : ", now or at their next start")
        + (listed == 0 ? "" : "; " + listed + " task(s) are listed in the queues' shutdown reports"));
  }

  /** With {@code --store postgres}: how many tasks of both queues the store holds unfinished. */
  private String inTheStore() {
    DemoStore s = store;
    if (s == null) {
      return "";
    }
    try {
      Map<String, Long> unfinished = s.unfinished();
      return " claimed by this demo; the store holds " + unfinished.getOrDefault(EMAIL_QUEUE, 0L) + " email and "
          + unfinished.getOrDefault(WEBHOOK_QUEUE, 0L) + " webhook task(s) unfinished (any demo's; what this one has"
          + " not claimed waits there for the others)";
    } catch (SQLException e) {
      return " claimed by this demo (the store did not answer: " + e.getMessage() + ")";
    }
  }

  private void writeReport(List<ShutdownReport> reports) throws IOException {
    Path file = options.reportFile != null
        ? options.reportFile
        : ReportFile.createTemp("loomwork-demo-shutdown-");
    long lines = 0;
    // The report holds payloads (e-mail addresses): readable by its owner only.
    ReportFile.write(file, w -> {
      for (ShutdownReport report : reports) {
        report.writeJsonLines(w);
      }
    });
    for (ShutdownReport report : reports) {
      lines += report.cancelled().size() + report.abandoned().size();
    }
    for (ShutdownReport report : reports) {
      out.println("report: queue " + report.queue() + ": " + report.succeeded() + " succeeded, " + report.failed()
          + " failed, " + report.cancelled().size() + " cancelled, " + report.abandoned().size() + " abandoned");
    }
    out.println("report: " + lines + " unfinished task(s) written to " + file.toAbsolutePath());
  }

  private String counts(String prefix) {
    QueueStats e = email.stats();
    QueueStats w = webhooks.stats();
    WebhookReceiver r = receiver;
    return prefix
        + " signups=" + (long) signups.count()
        + " emails=" + e.succeeded()
        + " webhooks=" + w.succeeded()
        + (r == null ? "" : " receiver=" + r.delivered()
            + " receiver_max_per_key=" + r.maxDeliveriesOfOneKey()
            + " receiver_503=" + r.unavailable())
        + " failed=" + (e.failed() + w.failed())
        + " cancelled=" + (e.cancelled() + w.cancelled());
  }

  /** A progress bar on a terminal; plain lines in a pipe, a file, a CI log or a test. */
  private static boolean onTerminal() {
    java.io.Console console = System.console();
    return console != null && console.isTerminal();
  }

  private static long outstanding(WorkQueue queue) {
    return queue.stats().outstanding();
  }

  /**
   * The first signal with {@code --reuse-port}: stop accepting, so that new connections go to the
   * other process bound to the port, and finish the requests of the open connections (with the
   * queues still taking tasks) before the drain.
   */
  private void handOver(String signal) throws InterruptedException {
    DemoServer.HandOver handOver = http.handOver();
    out.println("shutdown: SIG" + signal + " received: handing over port " + http.apiAddress().getPort()
        + " and metrics port " + http.metricsAddress().getPort() + ": both stopped accepting (another process"
        + " bound to them with SO_REUSEPORT takes new connections); finishing the requests of " + handOver.open()
        + " open connection(s)");
    long start = System.nanoTime();
    boolean none = handOver.await(HANDOVER_GRACE, secondSignal);
    long ms = (System.nanoTime() - start) / 1_000_000;
    if (none) {
      out.println("shutdown: handed over: every API and metrics connection closed in " + ms + " ms");
    } else {
      out.println("shutdown: " + http.openConnections() + " connection(s) still open after " + ms
          + " ms; closing them");
      http.close();
    }
  }

  private String apiUrl() {
    InetSocketAddress address = http.apiAddress();
    return "http://" + address.getAddress().getHostAddress() + ":" + address.getPort() + "/signup";
  }

  private String url(String path) {
    InetSocketAddress address = http.metricsAddress();
    return "http://" + address.getAddress().getHostAddress() + ":" + address.getPort() + path;
  }

  private static String percent(double fraction) {
    return String.format(Locale.ROOT, "%.0f%%", fraction * 100);
  }

  // ------------------------------------------------------------------------------------------
  // Options
  // ------------------------------------------------------------------------------------------

  /** Command-line options. Durations are written like 250ms, 2s, 1m. */
  static final class Options {
    static final String USAGE = """
        usage: SignupDemo [options]
          --load N                  post N signups to the demo's own API, then keep serving (default 0)
          --stop-after-load         once the load is sent (with no --load: once started), shut down
                                    as on SIGTERM (drain, exit 0)
          --port N                  the signup API's port on 127.0.0.1 (default 0: any free port)
          --reuse-port              bind the API's and the metrics port with SO_REUSEPORT, so that a
                                    second demo with --reuse-port --port N --metrics-port M can
                                    bind them too; the first signal then hands both over: stop
                                    accepting, finish the open connections' requests, then drain
          --metrics-port N          the port of /metrics and /health/ready (default 0: any free port)
          --receiver-port N         the demo's webhook receiver's port (default 0: any free port)
          --console-port N          the web console's port on 127.0.0.1 (default 0: any free port)
          --requeue FILE            at start, re-queue the tasks of a shutdown report (--report-file)
                                    before taking signups (not with --store postgres)
          --store memory|postgres   where the email and webhook queues keep their tasks (default
                                    memory); postgres: durable queues that several demos share, a
                                    signup's two tasks enqueued in one transaction; with
                                    --stop-after-load, the demo waits until the store holds no
                                    unfinished task before shutting down
          --pg-url JDBC_URL         with --store postgres: the database, e.g.
                                    jdbc:postgresql://localhost:5432/postgres?user=me&password=secret;
                                    without it the demo starts an embedded PostgreSQL and prints the
                                    --pg-url that a second demo shares its queues with
          --webhook-url URL         post the webhooks to this receiver instead of the demo's own
          --fail-rate F             fraction of webhook requests the demo's receiver answers 503
                                    (default 0.2)
          --webhook-delay D         how long the demo's receiver takes to answer (default 20ms)
          --webhook-timeout D       attempt timeout of a webhook delivery (default 10s)
          --webhook-concurrency N   webhook deliveries in flight at most (default 8)
          --email-delay D           how long the email sink takes per message (default 5ms)
          --retries N               retries after a failed attempt (default 8)
          --backoff D               first backoff delay, doubling up to 2s (default 100ms)
          --progress D              interval of the drain progress lines (default 1s)
          --drain-timeout D         cut the drain after D, report, exit 1 (default 5m)
          --report-file PATH        where a cut shutdown writes its JSON Lines report
                                    (default: a new loomwork-demo-shutdown-*.jsonl in the temp dir)
          --final-scrape-wait D     after draining, keep /metrics up until one more scrape, at most D
                                    (default 0: exit at once; not with --reuse-port, which hands
                                    the metrics port over at the first signal)
        """;

    int load;
    double failRate = 0.2;
    Duration webhookDelay = Duration.ofMillis(20);
    Duration webhookTimeout = Duration.ofSeconds(10);
    int webhookConcurrency = 8;
    Duration emailDelay = Duration.ofMillis(5);
    int retries = 8;
    Duration backoff = Duration.ofMillis(100);
    Duration maxBackoff = Duration.ofSeconds(2);
    Duration progress = Duration.ofSeconds(1);
    Duration drainTimeout = Duration.ofMinutes(5);
    @Nullable Path reportFile;
    @Nullable Path requeue;
    /** --store postgres. */
    boolean postgres;
    @Nullable String pgUrl;
    @Nullable URI webhookUrl;
    /** An option of the demo's own receiver that was given, or null. */
    @Nullable String receiverOption;
    Duration finalScrapeWait = Duration.ZERO;
    int port;
    int metricsPort;
    int receiverPort;
    int consolePort;
    boolean reusePort;
    boolean stopAfterLoad;
    boolean help;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        if (arg.equals("--help") || arg.equals("-h")) {
          o.help = true;
          continue;
        }
        if (arg.equals("--stop-after-load")) {
          o.stopAfterLoad = true;
          continue;
        }
        if (arg.equals("--reuse-port")) {
          o.reusePort = true;
          continue;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("missing value after " + arg);
        }
        String value = args[++i];
        try {
          switch (arg) {
            case "--load" -> o.load = atLeast(arg, Integer.parseInt(value), 0);
            case "--fail-rate" -> {
              o.receiverOption = arg;
              o.failRate = Double.parseDouble(value);
              if (!(o.failRate >= 0 && o.failRate < 1)) {
                throw new IllegalArgumentException(arg + ": " + value + " (expected: >= 0 and < 1)");
              }
            }
            case "--webhook-delay" -> {
              o.receiverOption = arg;
              o.webhookDelay = duration(value);
            }
            case "--webhook-timeout" -> o.webhookTimeout = positive(arg, duration(value));
            case "--webhook-concurrency" -> o.webhookConcurrency = atLeast(arg, Integer.parseInt(value), 1);
            case "--email-delay" -> o.emailDelay = duration(value);
            case "--retries" -> o.retries = atLeast(arg, Integer.parseInt(value), 0);
            case "--backoff" -> o.backoff = positive(arg, duration(value));
            case "--progress" -> o.progress = positive(arg, duration(value));
            case "--drain-timeout" -> o.drainTimeout = duration(value);
            case "--report-file" -> o.reportFile = Path.of(value);
            case "--requeue" -> o.requeue = Path.of(value);
            case "--store" -> o.postgres = switch (value) {
              case "memory" -> false;
              case "postgres" -> true;
              default -> throw new IllegalArgumentException(arg + ": " + value + " (expected: memory or postgres)");
            };
            case "--pg-url" -> {
              if (!value.startsWith("jdbc:postgresql:")) {
                throw new IllegalArgumentException(arg + ": " + DemoStore.redacted(value)
                    + " (expected: a JDBC URL, jdbc:postgresql://host:port/database?user=...)");
              }
              o.pgUrl = value;
            }
            case "--webhook-url" -> o.webhookUrl = webhookUrl(value);
            case "--final-scrape-wait" -> o.finalScrapeWait = duration(value);
            case "--port" -> o.port = port(arg, value);
            case "--metrics-port" -> o.metricsPort = port(arg, value);
            case "--console-port" -> o.consolePort = port(arg, value);
            case "--receiver-port" -> {
              o.receiverOption = arg;
              o.receiverPort = port(arg, value);
            }
            default -> throw new IllegalArgumentException("unknown option " + arg);
          }
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(arg + ": not a number: " + value);
        }
      }
      if (o.webhookUrl != null && o.receiverOption != null) {
        throw new IllegalArgumentException(o.receiverOption + " sets up the demo's own receiver; not with --webhook-url");
      }
      if (o.pgUrl != null && !o.postgres) {
        throw new IllegalArgumentException("--pg-url names the database of --store postgres; give both");
      }
      if (o.requeue != null && o.postgres) {
        throw new IllegalArgumentException("--requeue: not with --store postgres: a durable queue's cut tasks go"
            + " back to the store, not into a report, and the demos on that database run them; there is nothing"
            + " to re-queue");
      }
      if (o.reusePort && o.finalScrapeWait.isPositive()) {
        throw new IllegalArgumentException("--final-scrape-wait: not with --reuse-port: the first signal hands the"
            + " metrics port over to the demo that shares it, so a last scrape would reach that one");
      }
      if (o.maxBackoff.compareTo(o.backoff) < 0) {
        o.maxBackoff = o.backoff;
      }
      return o;
    }

    private static URI webhookUrl(String value) {
      URI uri;
      try {
        uri = new URI(value);
      } catch (java.net.URISyntaxException e) {
        throw new IllegalArgumentException("--webhook-url: " + e.getMessage());
      }
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
        throw new IllegalArgumentException("--webhook-url: " + value + " (expected: an http or https URL)");
      }
      return uri;
    }

    private static int port(String option, String value) {
      int port = Integer.parseInt(value);
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(option + ": " + value + " (expected: 0 to 65535)");
      }
      return port;
    }

    private static int atLeast(String option, int value, int min) {
      if (value < min) {
        throw new IllegalArgumentException(option + ": " + value + " (expected: >= " + min + ")");
      }
      return value;
    }

    private static Duration positive(String option, Duration value) {
      if (!value.isPositive()) {
        throw new IllegalArgumentException(option + ": " + value + " (expected: > 0)");
      }
      return value;
    }

    static Duration duration(String text) {
      String t = text.strip().toLowerCase(Locale.ROOT);
      if (t.equals("0")) {
        return Duration.ZERO;
      }
      int split = 0;
      while (split < t.length() && Character.isDigit(t.charAt(split))) {
        split++;
      }
      if (split == 0 || split == t.length()) {
        throw new IllegalArgumentException("not a duration: " + text + " (expected e.g. 250ms, 2s, 1m, 1h)");
      }
      long n = Long.parseLong(t.substring(0, split));
      return switch (t.substring(split)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> throw new IllegalArgumentException("not a duration: " + text + " (expected e.g. 250ms, 2s, 1m, 1h)");
      };
    }
  }
}
