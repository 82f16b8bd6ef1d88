package dev.loomwork.console;

import static dev.loomwork.console.ConsoleFixture.QUEUE;
import static dev.loomwork.console.ConsoleFixture.get;
import static dev.loomwork.console.ConsoleFixture.post;
import static dev.loomwork.console.ConsoleFixture.rawStatus;
import static dev.loomwork.console.ConsoleFixture.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.loomwork.TaskState;
import dev.loomwork.WorkQueue;
import dev.loomwork.admin.MemoryAdmin;
import dev.loomwork.postgres.PostgresExtension;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The console's safety rules, checked over HTTP: off until started, 127.0.0.1 by default, headers,
 * paths, CSRF, GET never changes state, read-only without an authoriser, escaping, mounting under a
 * prefix.
 */
@ExtendWith(PostgresExtension.class)
class ConsoleHttpTest {
  final ConsoleFixture fixture;
  final List<AutoCloseable> closing = new ArrayList<>();

  ConsoleHttpTest(DataSource ds) throws Exception {
    this.fixture = new ConsoleFixture(ds);
    closing.add(fixture);
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
  }

  Console started(Console.Builder builder) throws IOException {
    Console console = builder.build();
    closing.add(console);
    return console.start();
  }

  Console writable() throws IOException {
    return started(Console.builder().admin(fixture.admin).authorizer(ConsoleAuthorizer.allowAll()));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static void assertRefused(InetSocketAddress address) {
    assertThrows(ConnectException.class, () -> {
      try (Socket s = new Socket()) {
        s.connect(address, 10_000);
      }
    }, "nothing listens on " + address);
  }

  @Test
  void servesNothingUntilStartedAndNothingAfterClose() throws Exception {
    int port = freePort();
    Console console = Console.builder().admin(fixture.admin).port(port).build();
    closing.add(console);
    InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    assertRefused(address);
    assertThrows(IllegalStateException.class, console::address);

    console.start();
    assertEquals(port, console.address().getPort());
    assertEquals(200, get(console.uri()).statusCode());
    assertThrows(IllegalStateException.class, console::start, "a second start");

    console.close();
    assertRefused(address);
    assertThrows(IllegalStateException.class, console::start, "a start after close");
  }

  @Test
  void bindsTheLoopbackAddressUnlessToldOtherwise() throws Exception {
    Console console = started(Console.builder().admin(fixture.admin));
    assertTrue(console.address().getAddress().isLoopbackAddress(), console.address().toString());
    assertEquals("127.0.0.1", console.uri().getHost());
    // The machine's other addresses do not reach it.
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      for (InetAddress a : Collections.list(nic.getInetAddresses())) {
        if (a instanceof Inet4Address && !a.isLoopbackAddress()) {
          assertRefused(new InetSocketAddress(a, console.address().getPort()));
        }
      }
    }
  }

  @Test
  void everyAnswerCarriesAStrictContentSecurityPolicy() throws Exception {
    URI base = writable().uri();
    List<HttpResponse<String>> answers = List.of(
        get(base), get(base.resolve("tasks")), get(base.resolve("workers")), get(base.resolve("assets/console.js")),
        get(base.resolve("assets/console.css")), get(base.resolve("nothing-here")),
        get(base.resolve("tasks?state=BOGUS")), post(base.resolve("actions/pause"), "queue=" + QUEUE));
    assertEquals(List.of(200, 200, 200, 200, 200, 404, 400, 403), answers.stream().map(HttpResponse::statusCode).toList());
    for (HttpResponse<String> r : answers) {
      String csp = r.headers().firstValue("Content-Security-Policy").orElse("");
      assertTrue(csp.contains("default-src 'none'") && csp.contains("script-src 'self'")
          && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"), r.uri() + ": " + csp);
      assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(null), r.uri().toString());
      assertEquals("DENY", r.headers().firstValue("X-Frame-Options").orElse(null), r.uri().toString());
    }
    String page = answers.getFirst().body();
    assertFalse(page.contains("<script>") || page.contains("style=")
        || java.util.regex.Pattern.compile(" on[a-z]+=").matcher(page).find(), "no inline script, style or handler");
    assertTrue(answers.get(3).headers().firstValue("Content-Type").orElse("").startsWith("text/javascript"));
  }

  @Test
  void servesNoPathOutsideItsOwnAssets() throws Exception {
    Console console = writable();
    InetSocketAddress a = console.address();
    assertEquals(200, rawStatus(a, "/assets/console.css"));
    for (String path : List.of("/assets/../", "/assets/../console.css", "/assets/../../module-info.class",
        "/assets/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2fconsole.js", "/assets/console.css/..", "/assets//etc/passwd",
        "/../../../etc/passwd", "/assets/", "/assets", "/assets/Console.class", "/assets/console.js%00",
        "/assets/CONSOLE.CSS", "/dev/loomwork/console/console.css", "/module-info.class", "/tasks/../assets/console.css",
        "/%2e%2e/etc/passwd", "/assets/.%2e/Pages.class")) {
      assertEquals(404, rawStatus(a, path), path);
    }
  }

  @Test
  void aStateChangingRequestWithoutTheCsrfTokenIsRefused() throws Exception {
    URI base = writable().uri();
    String token = token(get(base).body());
    URI pause = base.resolve("actions/pause");

    assertEquals(403, post(pause, "src=0&queue=" + QUEUE).statusCode(), "no token");
    assertEquals(403, post(pause, "src=0&queue=" + QUEUE + "&csrf=").statusCode(), "an empty token");
    byte[] wrong = java.util.Base64.getUrlDecoder().decode(token);
    wrong[0] ^= 1;
    assertEquals(403, post(pause, "src=0&queue=" + QUEUE + "&csrf="
        + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(wrong)).statusCode(), "a token one bit off");
    assertEquals(403, post(pause, "src=0&queue=" + QUEUE + "&csrf=" + HexFormat.of().formatHex(new byte[32])).statusCode());
    assertEquals(403, post(pause, "src=0&queue=" + QUEUE + "&csrf=" + token, "Sec-Fetch-Site", "cross-site").statusCode(),
        "a browser's cross-site request");
    assertEquals(List.of(), fixture.admin.pausedQueues(), "no refused request paused the queue");

    // Another console's token is not this one's.
    Console other = started(Console.builder().admin(fixture.admin).authorizer(ConsoleAuthorizer.allowAll()));
    String otherToken = token(get(other.uri()).body());
    assertFalse(otherToken.equals(token));
    assertEquals(403, post(pause, "src=0&queue=" + QUEUE + "&csrf=" + otherToken).statusCode());
    assertEquals(List.of(), fixture.admin.pausedQueues());

    HttpResponse<String> done = post(pause, "src=0&queue=" + QUEUE + "&return=%2F&csrf=" + token);
    assertEquals(303, done.statusCode(), done.body());
    assertTrue(done.headers().firstValue("Location").orElseThrow().startsWith("/?notice="));
    assertEquals(List.of(QUEUE), fixture.admin.pausedQueues());
    assertEquals(303, post(base.resolve("actions/resume"), "src=0&queue=" + QUEUE + "&csrf=" + token).statusCode());
    assertEquals(List.of(), fixture.admin.pausedQueues());
  }

  @Test
  void aGetNeverChangesState() throws Exception {
    URI base = writable().uri();
    String token = token(get(base).body());
    for (String action : Actions.BY_NAME.keySet()) {
      HttpResponse<String> r = get(base.resolve("actions/" + action + "?src=0&queue=" + QUEUE + "&csrf=" + token));
      assertEquals(405, r.statusCode(), action);
      assertEquals("POST", r.headers().firstValue("Allow").orElse(null));
    }
    assertEquals(List.of(), fixture.admin.pausedQueues());
    assertEquals(405, post(base.resolve("tasks"), "csrf=" + token).statusCode(), "a POST to a page");
  }

  @Test
  void withoutAnAuthoriserTheConsoleIsReadOnly() throws Exception {
    fixture.failure.set("refused by the mail server");
    long id = fixture.enqueue("ada@example.com", null);
    fixture.awaitState(id, TaskState.FAILED);
    Console readOnly = started(Console.builder().admin(fixture.admin));
    URI base = readOnly.uri();
    for (String page : List.of("", "tasks", "task?src=0&queue=" + QUEUE + "&id=" + id)) {
      String body = get(base.resolve(page)).body();
      assertTrue(body.contains("read-only"), page);
      assertFalse(body.contains("method=\"post\""), page + " shows no action:\n" + body);
    }
    // Even with the console's own token (which its pages never show, having no form), every action is refused.
    String token = ((ConsoleHandler) readOnly.handler()).csrfToken();
    for (String action : Actions.BY_NAME.keySet()) {
      HttpResponse<String> r = post(base.resolve("actions/" + action), "src=0&queue=" + QUEUE + "&id=" + id
          + "&state=FAILED&csrf=" + token);
      assertEquals(403, r.statusCode(), action);
      assertTrue(r.body().contains("read-only"), r.body());
    }
    assertEquals(TaskState.FAILED, fixture.admin.task(id).orElseThrow().summary().state());
    assertEquals(List.of(), fixture.admin.pausedQueues());
  }

  @Test
  void theAuthoriserDecidesEveryAction() throws Exception {
    List<ConsoleAction> asked = new CopyOnWriteArrayList<>();
    URI base = started(Console.builder().admin(fixture.admin).authorizer(action -> {
      asked.add(action);
      return "Bearer s3cret".equals(action.header("authorization"));
    })).uri();
    String token = token(get(base).body());
    assertEquals(List.of(), asked, "reading a page asks nothing");

    assertEquals(403, post(base.resolve("actions/pause"), "src=0&queue=" + QUEUE + "&csrf=" + token).statusCode());
    assertEquals(List.of(), fixture.admin.pausedQueues());
    assertEquals(303, post(base.resolve("actions/pause"), "src=0&queue=" + QUEUE + "&csrf=" + token,
        "Authorization", "Bearer s3cret").statusCode());
    assertEquals(List.of(QUEUE), fixture.admin.pausedQueues());
    assertEquals(2, asked.size());
    assertEquals(ConsoleAction.Kind.PAUSE, asked.getLast().kind());
    assertEquals(QUEUE, asked.getLast().target());
    assertNotNull(asked.getLast().remoteAddress());

    // A throwing authoriser refuses.
    URI throwing = started(Console.builder().admin(fixture.admin).authorizer(action -> {
      throw new IllegalStateException("the authoriser's own failure");
    })).uri();
    String t2 = token(get(throwing).body());
    assertEquals(403, post(throwing.resolve("actions/resume"), "src=0&queue=" + QUEUE + "&csrf=" + t2).statusCode());
    assertEquals(List.of(QUEUE), fixture.admin.pausedQueues());
    fixture.admin.resume(QUEUE);
  }

  @Test
  void payloadsErrorsAndNamesAreEscaped() throws Exception {
    String xss = "<img src=x onerror=alert(1)>";
    fixture.failure.set("<b onmouseover=alert(3)>boom</b>");
    long id = fixture.enqueue(xss, "<script>alert(2)</script>");
    fixture.awaitState(id, TaskState.FAILED);
    URI base = writable().uri();
    String task = get(base.resolve("task?src=0&queue=" + QUEUE + "&id=" + id)).body();
    assertTrue(task.contains("&quot;&lt;img src=x onerror=alert(1)&gt;&quot;"), task);
    assertTrue(task.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), task);
    assertTrue(task.contains("&lt;b onmouseover=alert(3)&gt;boom&lt;/b&gt;"), task);
    String list = get(base.resolve("tasks?queue=" + QUEUE)).body();
    for (String page : List.of(task, list)) {
      assertFalse(page.contains("<img") || page.contains("<script>alert") || page.contains("<b "), page);
    }
    // Request parameters are escaped too, in the filter form and in error pages.
    String reflected = get(base.resolve("tasks?handler=%22%3E%3Cscript%3Ealert(4)%3C/script%3E")).body();
    assertFalse(reflected.contains("<script>alert(4)"), reflected);
    assertTrue(reflected.contains("&quot;&gt;&lt;script&gt;alert(4)"), reflected);
    String error = get(base.resolve("tasks?state=%3Cimg%20src=x%3E")).body();
    assertFalse(error.contains("<img"), error);
  }

  @Test
  void theActionsRetryEveryMatchingTaskCancelAndDelete() throws Exception {
    URI base = writable().uri();
    String token = token(get(base).body());
    fixture.failure.set("421 try again later");
    long first = fixture.enqueue("a@example.com", null);
    long second = fixture.enqueue("b@example.com", null);
    fixture.awaitState(first, TaskState.FAILED);
    fixture.awaitState(second, TaskState.FAILED);
    long later = fixture.store.enqueue(QUEUE, dev.loomwork.Task.of(ConsoleFixture.SEND, "c@example.com")
        .delay(java.time.Duration.ofHours(1)));

    fixture.failure.set(null);
    HttpResponse<String> retried = post(base.resolve("actions/retry-matching"),
        "src=0&queue=" + QUEUE + "&state=FAILED&error=421&return=%2Ftasks%3Fqueue%3D" + QUEUE + "&csrf=" + token);
    assertEquals(303, retried.statusCode(), retried.body());
    String back = retried.headers().firstValue("Location").orElseThrow();
    assertTrue(back.startsWith("/tasks?queue=" + QUEUE + "&notice="), back);
    assertTrue(get(base.resolve(back.substring(1))).body().contains("2 task(s) retried."));
    fixture.awaitState(first, TaskState.SUCCEEDED);
    fixture.awaitState(second, TaskState.SUCCEEDED);

    assertEquals(303, post(base.resolve("actions/cancel"), "src=0&queue=" + QUEUE + "&id=" + later + "&csrf=" + token)
        .statusCode());
    assertEquals(TaskState.CANCELLED, fixture.admin.task(later).orElseThrow().summary().state());
    assertEquals(303, post(base.resolve("actions/delete"), "src=0&queue=" + QUEUE + "&id=" + later + "&csrf=" + token)
        .statusCode());
    assertTrue(fixture.admin.task(later).isEmpty());
    assertEquals(404, get(base.resolve("task?src=0&queue=" + QUEUE + "&id=" + later)).statusCode());

    // Bad input: named in a 400, nothing done.
    HttpResponse<String> bad = post(base.resolve("actions/retry"), "src=0&queue=" + QUEUE + "&id=x1&csrf=" + token);
    assertEquals(400, bad.statusCode());
    assertTrue(bad.body().contains("id: x1 (expected: a durable task's id, a number)"), bad.body());
    assertEquals(400, post(base.resolve("actions/pause"), "src=7&queue=" + QUEUE + "&csrf=" + token).statusCode());
  }

  @Test
  void aNoticeShowsOnlyWhatTheConsoleItselfWrote() throws Exception {
    URI base = writable().uri();
    String page = get(base.resolve("?notice=Your%20session%20expired")).body();
    assertFalse(page.contains("session expired"), "a made-up notice is not shown");
    String token = token(get(base).body());
    String location = post(base.resolve("actions/pause"), "src=0&queue=" + QUEUE + "&return=%2F&csrf=" + token)
        .headers().firstValue("Location").orElseThrow();
    assertTrue(get(base.resolve(location.substring(1))).body().contains("Queue " + QUEUE + " paused."));
    // The way back is one of the console's pages, never another site.
    String away = post(base.resolve("actions/resume"), "src=0&queue=" + QUEUE + "&return=%2F%2Fevil.example%2F&csrf="
        + token).headers().firstValue("Location").orElseThrow();
    assertTrue(away.startsWith("/?notice="), away);
  }

  @Test
  void mountsInTheApplicationsServerUnderAPrefix() throws Exception {
    WorkQueue memory = WorkQueue.builder("thumbnails").build();
    closing.add(memory);
    Console console = Console.builder().admin(fixture.admin).admin(MemoryAdmin.of(memory)).build();
    closing.add(console);
    // README:console-mount
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/ops/loomwork", console.handler());
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.start();
    // README:end
    closing.add(() -> server.stop(0));
    URI root = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    HttpResponse<String> page = get(root.resolve("ops/loomwork/"));
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("href=\"/ops/loomwork/assets/console.css\""), page.body());
    assertTrue(page.body().contains("href=\"/ops/loomwork/tasks?src=1&amp;queue=thumbnails\""), page.body());
    assertTrue(page.body().contains("src=\"/ops/loomwork/assets/console.js\""));
    assertEquals(200, get(root.resolve("ops/loomwork")).statusCode());
    assertEquals(200, get(root.resolve("ops/loomwork/assets/console.js")).statusCode());
    assertEquals(404, get(root.resolve("ops/loomworkx")).statusCode());
    assertEquals(404, rawStatus(server.getAddress(), "/ops/loomwork/../loomwork/assets/console.css"));
  }

  @Test
  void aQueueInMemoryCannotBePausedAndARequestToIsRefusedWithAClearError() throws Exception {
    WorkQueue memory = WorkQueue.builder("thumbnails").build();
    closing.add(memory);
    memory.start();
    URI base = started(Console.builder().admin(fixture.admin).admin(MemoryAdmin.of(memory))
        .authorizer(ConsoleAuthorizer.allowAll())).uri();
    String page = get(base).body();
    String durableRow = page.substring(page.indexOf("data-queue=\"" + QUEUE + "\""));
    String memoryRow = page.substring(page.indexOf("data-queue=\"thumbnails\""));
    assertTrue(durableRow.substring(0, durableRow.indexOf("</tr>")).contains("actions/pause"), "a durable queue: Pause");
    assertFalse(memoryRow.substring(0, memoryRow.indexOf("</tr>")).contains("actions/"), "a memory queue: no action");

    HttpResponse<String> refused =
        post(base.resolve("actions/pause"), "src=1&queue=thumbnails&return=%2F&csrf=" + token(page));
    assertEquals(400, refused.statusCode(), refused.body());
    assertEquals("bad request: src: 1 (expected: the number of a durable store's admin; queues in memory are"
        + " read-only)", refused.body().strip());
    assertEquals(List.of(), fixture.admin.pausedQueues(), "nothing paused in the store either");
    assertEquals(dev.loomwork.QueueLifecycle.ACCEPTING, memory.health().lifecycle());
  }

  @Test
  void theBuilderChecksItsArguments() {
    assertEquals("admins: none (expected: at least one, added with admin(...))",
        assertThrows(IllegalStateException.class, () -> Console.builder().build()).getMessage());
    assertEquals("port: 65536 (expected: 0 to 65535)",
        assertThrows(IllegalArgumentException.class, () -> Console.builder().port(65_536)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> Console.builder().refresh(java.time.Duration.ofMillis(10)));
    assertThrows(IllegalArgumentException.class, () -> Console.builder().admin(fixture.admin).admin(fixture.admin));
    assertThrows(NullPointerException.class, () -> Console.builder().authorizer(null));
  }
}
