package dev.loomwork.demo;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The demo API's HTTP server: a few dozen lines of HTTP/1.1 over a {@link ServerSocket}, because
 * the JDK's {@code HttpServer} cannot bind with {@code SO_REUSEPORT}, and a hand-over needs that: a
 * new process binds the port while the old one still serves, then the old one stops accepting and
 * finishes what it has.
 *
 * <p>What it speaks: one request at a time per connection (no pipelining), a body only with {@code
 * Content-Length} (a chunked request is answered 411), {@code Expect: 100-continue}, keep-alive for
 * HTTP/1.1 (closed after 60 s idle) and none for HTTP/1.0. A virtual thread serves each connection.
 *
 * <p>Its drain, {@link #stopAccepting()}: the listening socket closes at once, so the kernel sends
 * new connections to the other sockets bound to the port (with none, they are refused). A request
 * in progress finishes; the next request on an open connection is served too, with {@code
 * Connection: close}; a connection idle for {@link #IDLE_WHEN_STOPPING} is closed. Connections the
 * kernel had completed but this process had not yet accepted when the socket closed are reset by
 * the kernel ({@code net.ipv4.tcp_migrate_req=1} on Linux 5.14 and later hands them to another
 * socket of the port instead).
 */
final class ApiServer implements AutoCloseable {
  /** A request: its method, path (query included), headers by lower-case name, and body. */
  record Request(String method, String target, Map<String, String> headers, byte[] body) {
    String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** An answer: status, extra headers, and a text body. */
  record Response(int status, Map<String, String> headers, String body) {
    static Response of(int status, String body) {
      return new Response(status, Map.of(), body);
    }
  }

  /** Answers a request; runs on the connection's virtual thread. */
  interface Handler {
    Response handle(Request request) throws Exception;
  }

  /** How long an open connection may stay idle once the server stops accepting. */
  static final Duration IDLE_WHEN_STOPPING = Duration.ofMillis(200);

  private static final Duration KEEP_ALIVE = Duration.ofSeconds(60);
  private static final Duration READ_REQUEST = Duration.ofSeconds(10);
  private static final int POLL_MILLIS = 50;
  private static final int MAX_HEADER_BYTES = 16 * 1024;
  private static final int MAX_BODY_BYTES = 64 * 1024;

  private final ServerSocket listener;
  private final Handler handler;
  private final boolean reusePort;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition closed = lock.newCondition();
  private volatile boolean stopping;
  private volatile boolean closeAfterEachAnswer;

  /**
   * Binds {@code address} (port 0: one the kernel picks); with {@code reusePort}, with {@code
   * SO_REUSEPORT}, so that other processes of the same user can bind the same port.
   */
  ApiServer(InetSocketAddress address, boolean reusePort, Handler handler) throws IOException {
    this.handler = handler;
    this.reusePort = reusePort;
    listener = new ServerSocket();
    try {
      if (reusePort) {
        if (!listener.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT)) {
          throw new IOException("SO_REUSEPORT is not supported on this platform");
        }
        listener.setOption(StandardSocketOptions.SO_REUSEPORT, true);
      }
      listener.bind(address, 128);
    } catch (IOException e) {
      listener.close();
      throw e;
    }
  }

  InetSocketAddress address() {
    return (InetSocketAddress) listener.getLocalSocketAddress();
  }

  boolean reusePort() {
    return reusePort;
  }

  void start() {
    Thread.ofPlatform().daemon().name("demo-api-accept").start(this::acceptLoop);
  }

  /** From now on every answer carries {@code Connection: close}; the listener stays open. */
  void closeConnectionsAfterEachAnswer() {
    closeAfterEachAnswer = true;
  }

  /**
   * Closes the listening socket: no new connection; see the class comment for the open ones.
   * Returns how many connections were open.
   */
  int stopAccepting() {
    stopping = true;
    closeAfterEachAnswer = true;
    try {
      listener.close();
    } catch (IOException e) {
      // closed already
    }
    return open.size();
  }

  /** Connections open now. */
  int openConnections() {
    return open.size();
  }

  /**
   * Waits until no connection is open, at most {@code timeout} or until {@code cancel} is done;
   * returns whether none is open.
   */
  boolean awaitNoConnections(Duration timeout, Future<?> cancel) throws InterruptedException {
    long nanos = timeout.toNanos();
    lock.lock();
    try {
      while (!open.isEmpty() && !cancel.isDone()) {
        if (nanos <= 0) {
          return false;
        }
        // Short waits: the cancel is a future, not this lock's condition.
        closed.await(Math.min(nanos, TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS)), TimeUnit.NANOSECONDS);
        nanos -= TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS);
      }
      return open.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  /** Closes the listener and every connection at once. */
  @Override
  public void close() {
    stopAccepting();
    for (Socket s : open) {
      closeQuietly(s);
    }
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      Socket socket;
      try {
        socket = listener.accept();
      } catch (IOException e) {
        return; // closed by stopAccepting()
      }
      open.add(socket);
      Thread.ofVirtual().name("demo-api-connection").start(() -> serve(socket));
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      socket.setTcpNoDelay(true);
      InputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = new BufferedOutputStream(socket.getOutputStream());
      while (awaitRequest(socket, in)) {
        socket.setSoTimeout((int) READ_REQUEST.toMillis());
        if (!exchange(in, out)) {
          break;
        }
      }
    } catch (IOException e) {
      // the client went away, or sent something that is not HTTP/1.1: the connection ends
    } finally {
      open.remove(socket);
      lock.lock();
      try {
        closed.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * Waits for the first byte of the next request; false if the connection should close instead: the
   * client closed it, it was idle too long, or the server is stopping and it is idle.
   */
  private boolean awaitRequest(Socket socket, InputStream in) throws IOException {
    socket.setSoTimeout(POLL_MILLIS);
    long idleSince = System.nanoTime();
    long stoppingSince = 0;
    while (true) {
      in.mark(1);
      try {
        if (in.read() < 0) {
          return false;
        }
        in.reset();
        return true;
      } catch (SocketTimeoutException e) {
        long now = System.nanoTime();
        if (now - idleSince > KEEP_ALIVE.toNanos()) {
          return false;
        }
        if (stopping) {
          if (stoppingSince == 0) {
            stoppingSince = now;
          } else if (now - stoppingSince > IDLE_WHEN_STOPPING.toNanos()) {
            return false;
          }
        }
      }
    }
  }

  /** Reads one request and answers it; returns whether the connection stays open. */
  private boolean exchange(InputStream in, OutputStream out) throws IOException {
    String requestLine = readLine(in, MAX_HEADER_BYTES);
    if (requestLine == null) {
      return false;
    }
    String[] parts = requestLine.split(" ");
    if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
      write(out, Response.of(400, "bad request line\n"), false, false);
      return false;
    }
    Map<String, String> headers = new LinkedHashMap<>();
    int headerBytes = requestLine.length();
    while (true) {
      String line = readLine(in, MAX_HEADER_BYTES - headerBytes);
      if (line == null) {
        return false;
      }
      if (line.isEmpty()) {
        break;
      }
      headerBytes += line.length() + 2;
      int colon = line.indexOf(':');
      if (colon <= 0) {
        write(out, Response.of(400, "bad header line\n"), false, false);
        return false;
      }
      headers.merge(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), line.substring(colon + 1).strip(),
          (a, b) -> a + ", " + b);
    }
    boolean http11 = parts[2].equals("HTTP/1.1");
    String connection = headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT);
    boolean keepAlive = http11 ? !connection.contains("close") : connection.contains("keep-alive");
    boolean head = parts[0].equals("HEAD");
    if (headers.containsKey("transfer-encoding")) {
      write(out, Response.of(411, "send the body with a Content-Length\n"), false, head);
      return false;
    }
    long length;
    try {
      length = Long.parseLong(headers.getOrDefault("content-length", "0"));
    } catch (NumberFormatException e) {
      length = -1;
    }
    if (length < 0 || length > MAX_BODY_BYTES) {
      write(out, Response.of(length < 0 ? 400 : 413, "bad or too large Content-Length\n"), false, head);
      return false;
    }
    if (length > 0 && "100-continue".equalsIgnoreCase(headers.get("expect"))) {
      out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }
    byte[] body = in.readNBytes((int) length);
    if (body.length != length) {
      return false;
    }
    Response response;
    try {
      response = handler.handle(new Request(parts[0], parts[1], headers, body));
    } catch (Exception e) {
      response = Response.of(500, "internal error: " + e + "\n");
    }
    boolean stayOpen = keepAlive && !closeAfterEachAnswer;
    write(out, response, stayOpen, head);
    return stayOpen;
  }

  /** A line ending in CRLF (or LF), without it; null at the end of the stream or past {@code max}. */
  private static String readLine(InputStream in, int max) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream(128);
    while (true) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, end, StandardCharsets.ISO_8859_1);
      }
      if (line.size() >= max) {
        throw new IOException("request header too large");
      }
      line.write(b);
    }
  }

  private static void write(OutputStream out, Response response, boolean keepAlive, boolean head)
      throws IOException {
    byte[] body = response.body().getBytes(StandardCharsets.UTF_8);
    StringBuilder h = new StringBuilder(256)
        .append("HTTP/1.1 ").append(response.status()).append(' ').append(reason(response.status())).append("\r\n")
        .append("Date: ").append(DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)))
        .append("\r\n")
        .append("Content-Type: ").append(response.headers().getOrDefault("Content-Type", "text/plain; charset=utf-8"))
        .append("\r\n")
        .append("Content-Length: ").append(body.length).append("\r\n")
        .append("Connection: ").append(keepAlive ? "keep-alive" : "close").append("\r\n");
    response.headers().forEach((name, value) -> {
      if (!name.equalsIgnoreCase("Content-Type")) {
        h.append(name).append(": ").append(value).append("\r\n");
      }
    });
    h.append("\r\n");
    out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
    if (!head) {
      out.write(body);
    }
    out.flush();
  }

  private static String reason(int status) {
    return switch (status) {
      case 200 -> "OK";
      case 202 -> "Accepted";
      case 400 -> "Bad Request";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 411 -> "Length Required";
      case 413 -> "Content Too Large";
      case 503 -> "Service Unavailable";
      default -> status >= 500 ? "Server Error" : "Status";
    };
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // closed already
    }
  }
}
