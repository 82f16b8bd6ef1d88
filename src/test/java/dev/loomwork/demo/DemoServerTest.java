package dev.loomwork.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.demo.DemoServer.Response;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The demo's Jetty server over raw sockets: the loopback address, keep-alive, the hand-over of both
 * ports ({@code Connection: close}, idle connections closed), {@code SO_REUSEPORT}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DemoServerTest {
  private static final int READ_TIMEOUT_MILLIS = 20_000;

  private static Socket startAndConnect(DemoServer server) throws Exception {
    server.start();
    return connect(server.apiAddress().getPort());
  }

  private static DemoServer echo(int apiPort, int metricsPort, boolean reusePort) throws Exception {
    DemoServer server = new DemoServer(apiPort, metricsPort, reusePort,
        request -> new Response(200, Map.of("X-Method", request.method()), "api got " + request.bodyText()),
        request -> Response.of(200, "metrics " + request.target()));
    server.start();
    return server;
  }

  @Test
  void bindsBothPortsOnTheLoopbackAddressOnly() throws Exception {
    try (DemoServer server = echo(0, 0, false)) {
      assertTrue(server.apiAddress().getAddress().isLoopbackAddress(), server.apiAddress().toString());
      assertTrue(server.metricsAddress().getAddress().isLoopbackAddress(), server.metricsAddress().toString());
      assertFalse(server.apiAddress().getPort() == server.metricsAddress().getPort());
      // Each port has its own handler.
      try (Socket socket = connect(server.metricsAddress().getPort())) {
        assertEquals("metrics /metrics?x=1", new Client(socket).get("/metrics?x=1").body());
      }
      // Not reachable on another address of this machine, if it has one.
      InetAddress other = nonLoopbackAddress();
      if (other != null) {
        assertThrows(IOException.class, () -> new Socket(other, server.apiAddress().getPort()).close());
      }
    }
  }

  @Test
  void keepsAConnectionAliveAndClosesItAfterItsNextAnswerOnceHandedOver() throws Exception {
    // The third request is held in its handler until the hand-over has begun, so that it is in
    // flight then (sent but not yet read, it would be an idle connection's, which a hand-over closes).
    CountDownLatch third = new CountDownLatch(1);
    CompletableFuture<Void> handedOver = new CompletableFuture<>();
    try (DemoServer server = new DemoServer(0, 0, false, request -> {
          if (request.bodyText().equals("three")) {
            third.countDown();
            handedOver.join();
          }
          return new Response(200, Map.of("X-Method", request.method()), "api got " + request.bodyText());
        }, request -> Response.of(200, "metrics " + request.target()));
        Socket socket = startAndConnect(server)) {
      Client client = new Client(socket);
      Answer first = client.post("one");
      assertEquals("api got one", first.body());
      assertEquals("POST", first.header("x-method"));
      assertEquals(null, first.header("connection"), "kept alive: " + first.headers());
      assertEquals("api got two", client.post("two").body());

      // A request is in flight on this connection when the hand-over begins: its answer is the last.
      client.send("three");
      assertTrue(third.await(10, TimeUnit.SECONDS));
      DemoServer.HandOver handOver = server.handOver();
      handedOver.complete(null);
      assertEquals(1, handOver.open(), "one connection open");
      Answer last = client.read();
      assertEquals(200, last.status());
      assertEquals("api got three", last.body());
      assertEquals("close", last.header("connection"));
      assertEquals(-1, socket.getInputStream().read(), "closed after the answer");
      assertTrue(handOver.await(Duration.ofSeconds(10), new CompletableFuture<>()));
      assertEquals(0, server.openConnections());
      assertThrows(ConnectException.class, () -> connect(server.apiAddress().getPort()).close(),
          "no API listener any more: nothing else is bound to the port");
      assertThrows(ConnectException.class, () -> connect(server.metricsAddress().getPort()).close(),
          "no metrics listener any more either");
    }
  }

  @Test
  void closesAnIdleConnectionOnceHandedOver() throws Exception {
    try (DemoServer server = echo(0, 0, false);
        Socket api = connect(server.apiAddress().getPort());
        Socket metrics = connect(server.metricsAddress().getPort())) {
      assertEquals(200, new Client(api).post("one").status());
      assertEquals(200, new Client(metrics).get("/metrics").status());
      DemoServer.HandOver handOver = server.handOver();
      assertEquals(-1, api.getInputStream().read(), "the idle API connection was closed");
      assertEquals(-1, metrics.getInputStream().read(), "the idle metrics connection was closed");
      assertTrue(handOver.await(Duration.ofSeconds(10), new CompletableFuture<>()));
    }
  }

  @Test
  void aRequestSlowerThanTheIdleTimeoutOfAHandOverIsStillAnswered() throws Exception {
    CountDownLatch handling = new CountDownLatch(1);
    CompletableFuture<Void> finish = new CompletableFuture<>();
    try (DemoServer server = new DemoServer(0, 0, false, request -> {
          handling.countDown();
          finish.join();
          return Response.of(202, "taken\n");
        }, request -> Response.of(200, ""))) {
      server.start();
      try (Socket api = connect(server.apiAddress().getPort())) {
        Client client = new Client(api);
        client.send("slow");
        assertTrue(handling.await(10, TimeUnit.SECONDS));
        DemoServer.HandOver handOver = server.handOver();
        // Several idle timeouts of the hand-over pass while the handler blocks; it is not cut.
        assertFalse(handOver.await(DemoServer.IDLE_WHEN_STOPPING.multipliedBy(3), new CompletableFuture<>()),
            "the connection stays open while its request is handled");
        finish.complete(null);
        Answer answer = client.read();
        assertEquals(202, answer.status());
        assertEquals("close", answer.header("connection"));
        assertTrue(handOver.await(Duration.ofSeconds(10), new CompletableFuture<>()));
      }
    }
  }

  @Test
  void answersATooLargeBody413AndAFailingHandler500WithoutItsMessage() throws Exception {
    try (DemoServer server = new DemoServer(0, 0, false, request -> {
      throw new IllegalStateException("<secret>");
    }, request -> Response.of(200, ""))) {
      server.start();
      try (Socket socket = connect(server.apiAddress().getPort())) {
        Answer answer = new Client(socket).post("x".repeat(DemoServer.MAX_BODY_BYTES + 1));
        assertEquals(413, answer.status());
      }
      try (Socket socket = connect(server.apiAddress().getPort())) {
        Answer answer = new Client(socket).post("hello");
        assertEquals(500, answer.status());
        assertFalse(answer.body().contains("secret"), answer.body());
      }
    }
  }

  @Test
  void twoServersShareBothPortsOnlyWithReusePort() throws Exception {
    try (DemoServer first = echo(0, 0, true);
        DemoServer second = echo(first.apiAddress().getPort(), first.metricsAddress().getPort(), true)) {
      assertEquals(first.apiAddress().getPort(), second.apiAddress().getPort());
      assertEquals(first.metricsAddress().getPort(), second.metricsAddress().getPort());
      // The first hands over: both ports still answer, from the second.
      assertTrue(first.handOver().await(Duration.ofSeconds(10), new CompletableFuture<>()));
      try (Socket socket = connect(first.apiAddress().getPort())) {
        assertEquals("api got after", new Client(socket).post("after").body());
      }
      try (Socket socket = connect(first.metricsAddress().getPort())) {
        assertEquals("metrics /metrics", new Client(socket).get("/metrics").body());
      }
    }
    try (DemoServer plain = echo(0, 0, false)) {
      assertThrows(BindException.class, () -> echo(plain.apiAddress().getPort(), 0, true).close());
      assertThrows(BindException.class, () -> echo(0, plain.metricsAddress().getPort(), true).close());
    }
  }

  private static @Nullable InetAddress nonLoopbackAddress() throws IOException {
    for (var nic : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || nic.isLoopback()) {
        continue;
      }
      for (InetAddress a : java.util.Collections.list(nic.getInetAddresses())) {
        if (a instanceof java.net.Inet4Address) {
          return a;
        }
      }
    }
    return null;
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(READ_TIMEOUT_MILLIS);
    return socket;
  }

  /** An answer's status, headers (lower-case names) and body. */
  private record Answer(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name);
    }
  }

  /** HTTP/1.1 by hand on one socket: writes a request, reads one answer by its Content-Length. */
  private static final class Client {
    private final Socket socket;
    private final InputStream in;

    Client(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new BufferedInputStream(socket.getInputStream());
    }

    Answer post(String body) throws IOException {
      send(body);
      return read();
    }

    void send(String body) throws IOException {
      write("POST /signup HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
    }

    Answer get(String target) throws IOException {
      write("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
      return read();
    }

    private void write(String text) throws IOException {
      socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
    }

    Answer read() throws IOException {
      String status = line();
      Map<String, String> headers = new HashMap<>();
      for (String line = line(); !line.isEmpty(); line = line()) {
        int colon = line.indexOf(':');
        headers.put(line.substring(0, colon).toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
      }
      byte[] body = in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
      return new Answer(Integer.parseInt(status.split(" ")[1]), headers, new String(body, StandardCharsets.UTF_8));
    }

    private String line() throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      for (int b = in.read(); b != '\n'; b = in.read()) {
        if (b < 0) {
          throw new IOException("closed in the middle of an answer: " + line);
        }
        if (b != '\r') {
          line.write(b);
        }
      }
      return line.toString(StandardCharsets.ISO_8859_1);
    }
  }
}
