package dev.loomwork.console;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.RetryPolicy;
import dev.loomwork.Task;
import dev.loomwork.TaskCodec;
import dev.loomwork.TaskState;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import dev.loomwork.admin.StoreAdmin;
import dev.loomwork.postgres.PostgresStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * What the console's tests share: a durable store on the test database with a queue {@code emails}
 * whose handler fails while {@link #failure} holds a message, and the HTTP helpers.
 */
final class ConsoleFixture implements AutoCloseable {
  /** A payload that is a JSON string (escaped as JSON, so any text goes). */
  static final TaskCodec<String> TEXT = new TaskCodec<>() {
    @Override
    public String encode(String payload) {
      StringBuilder b = new StringBuilder("\"");
      for (char c : payload.toCharArray()) {
        switch (c) {
          case '"' -> b.append("\\\"");
          case '\\' -> b.append("\\\\");
          default -> {
            if (c < 0x20) {
              b.append(String.format("\\u%04x", (int) c));
            } else {
              b.append(c);
            }
          }
        }
      }
      return b.append('"').toString();
    }

    @Override
    public String decode(String json) {
      String s = json.strip();
      return s.substring(1, s.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
    }
  };

  /** The handler of queue {@code emails}: one attempt, no retry. */
  static final TaskType<String> SEND = TaskType.of("send", TEXT).withRetryPolicy(RetryPolicy.noRetries());

  static final String QUEUE = "emails";

  final DataSource ds;
  final PostgresStore store;
  final StoreAdmin admin;
  final WorkQueue emails;

  /** While set, every attempt of {@link #SEND} throws an {@link IllegalStateException} with this message. */
  final AtomicReference<@Nullable String> failure = new AtomicReference<>();

  ConsoleFixture(DataSource ds) throws SQLException {
    this.ds = ds;
    try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
      s.execute("TRUNCATE loomwork_task, loomwork_worker CASCADE");
    }
    this.store = PostgresStore.builder(ds).pollInterval(Duration.ofMillis(200)).build();
    this.admin = store.admin();
    for (String paused : admin.pausedQueues()) {
      admin.resume(paused);
    }
    this.emails = WorkQueue.builder(QUEUE).store(store).concurrency(4)
        .handle(SEND, (ctx, to) -> {
          String message = failure.get();
          if (message != null) {
            throw new IllegalStateException(message);
          }
        })
        .build();
    emails.start();
    // One task that ended, so that the queue has a row (with its Pause form, and so the CSRF token)
    // on the queues page however fast a test reads it.
    try {
      awaitState(enqueue("warm-up@example.com", "warm-up"), TaskState.SUCCEEDED);
    } catch (Exception e) {
      emails.close();
      throw new IllegalStateException("the fixture's first task did not succeed", e);
    }
  }

  long enqueue(String payload, @Nullable String name) throws SQLException {
    Task<?> task = Task.of(SEND, payload);
    return store.enqueue(QUEUE, name == null ? task : task.named(name));
  }

  /**
   * Waits until task {@code id} is in {@code state}: a condition polled every 10 ms (a round trip to
   * the store each), up to the generous timeout; the outcome never depends on the pace.
   */
  void awaitState(long id, TaskState state) throws Exception {
    long end = System.nanoTime() + Duration.ofSeconds(GENEROUS_SECONDS).toNanos();
    TaskState last = null;
    while (System.nanoTime() < end) {
      var task = admin.task(id);
      last = task.map(t -> t.summary().state()).orElse(null);
      if (last == state) {
        return;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
    }
    assertEquals(state, last, "task " + id + "'s state");
  }

  @Override
  public void close() {
    emails.close();
  }

  // -----------------------------------------------------------------------------------------------
  // HTTP

  static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
      .connectTimeout(Duration.ofSeconds(10)).build();

  static HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(GENEROUS_SECONDS)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(URI uri, String form, String... headers) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(GENEROUS_SECONDS))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(form));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static final Pattern TOKEN = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");

  /** The CSRF token, as the console's pages carry it in their forms. */
  static String token(String page) {
    Matcher m = TOKEN.matcher(page);
    assertTrue(m.find(), "the page carries a CSRF token in a form:\n" + page);
    return m.group(1);
  }

  /**
   * Sends {@code GET path} as written (no client normalises it) and returns the status line's code.
   */
  static int rawStatus(InetSocketAddress server, String path) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(server, 10_000);
      socket.setSoTimeout((int) (GENEROUS_SECONDS * 1000));
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
      String status = in.readLine();
      assertTrue(status != null && status.startsWith("HTTP/1.1 "), "status line of " + path + ": " + status);
      return Integer.parseInt(status.substring(9, 12));
    }
  }
}
