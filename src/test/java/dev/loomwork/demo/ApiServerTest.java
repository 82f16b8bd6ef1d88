package dev.loomwork.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.demo.ApiServer.Response;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The demo API's HTTP/1.1 server, over raw sockets: keep-alive, its drain, SO_REUSEPORT. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ApiServerTest {
  private static final int READ_TIMEOUT_MILLIS = 20_000;

  private static ApiServer echo(int port, boolean reusePort) throws IOException {
    ApiServer server = new ApiServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), reusePort,
        request -> new Response(200, Map.of("X-Method", request.method()), "got " + request.bodyText()));
    server.start();
    return server;
  }

  @Test
  void keepsAConnectionAliveAcrossRequestsAndClosesItAfterTheDrainBegins() throws Exception {
    try (ApiServer server = echo(0, false); Socket socket = connect(server.address().getPort())) {
      Client client = new Client(socket);
      assertEquals("keep-alive", client.post("one").header("connection"));
      Answer second = client.post("two");
      assertEquals("got two", second.body());
      assertEquals("POST", second.header("x-method"));

      assertEquals(1, server.stopAccepting(), "one connection open");
      // A request on the open connection is still served, and the connection then closes.
      Answer last = client.post("three");
      assertEquals(200, last.status());
      assertEquals("close", last.header("connection"));
      assertEquals(-1, socket.getInputStream().read(), "closed after the answer");
      assertTrue(server.awaitNoConnections(Duration.ofSeconds(10), new CompletableFuture<>()));
      assertThrows(ConnectException.class, () -> connect(server.address().getPort()).close(),
          "no listener any more: nothing else is bound to the port");
    }
  }

  @Test
  void closesAnIdleConnectionOnceTheDrainBegins() throws Exception {
    try (ApiServer server = echo(0, false); Socket socket = connect(server.address().getPort())) {
      Client client = new Client(socket);
      assertEquals(200, client.post("one").status());
      server.stopAccepting();
      assertEquals(-1, socket.getInputStream().read(), "the idle connection was closed");
      assertTrue(server.awaitNoConnections(Duration.ofSeconds(10), new CompletableFuture<>()));
    }
  }

  @Test
  void answersAChunkedBody411AndHttp10WithoutKeepAlive() throws Exception {
    try (ApiServer server = echo(0, false)) {
      try (Socket socket = connect(server.address().getPort())) {
        write(socket, "POST /signup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        assertEquals(411, new Client(socket).read().status());
      }
      try (Socket socket = connect(server.address().getPort())) {
        write(socket, "POST /signup HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi");
        Answer answer = new Client(socket).read();
        assertEquals("got hi", answer.body());
        assertEquals("close", answer.header("connection"));
      }
    }
  }

  @Test
  void twoServersShareAPortOnlyWithReusePort() throws Exception {
    try (ApiServer first = echo(0, true); ApiServer second = echo(first.address().getPort(), true)) {
      assertEquals(first.address().getPort(), second.address().getPort());
      // The first stops accepting: the port still answers, from the second.
      first.stopAccepting();
      try (Socket socket = connect(first.address().getPort())) {
        assertEquals("got after", new Client(socket).post("after").body());
      }
    }
    try (ApiServer plain = echo(0, false)) {
      assertThrows(BindException.class, () -> echo(plain.address().getPort(), true).close());
    }
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(READ_TIMEOUT_MILLIS);
    return socket;
  }

  private static void write(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
    socket.getOutputStream().flush();
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
      write(socket, "POST /signup HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
      return read();
    }

    Answer read() throws IOException {
      String status = line();
      Map<String, String> headers = new java.util.HashMap<>();
      for (String line = line(); !line.isEmpty(); line = line()) {
        int colon = line.indexOf(':');
        headers.put(line.substring(0, colon).toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
      }
      byte[] body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
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
