package dev.loomwork.demo;

import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.jspecify.annotations.Nullable;

/**
 * The demo's HTTP server: Jetty 12 with two connectors on the loopback address, one for the signup
 * API and one for {@code /metrics} and {@code /health/ready}. Jetty rather than the JDK's {@code
 * HttpServer} because a hand-over needs {@code SO_REUSEPORT} ({@link ServerConnector#setReusePort}),
 * which the JDK's server cannot set: a new process binds both ports while the old one still serves,
 * then the old one stops accepting and finishes what it has.
 *
 * <p>Its hand-over, {@link #handOver()}, is Jetty's graceful shutdown of both connectors: each
 * closes its listening socket at once, so the kernel sends new connections to the other sockets
 * bound to the port (with none, they are refused); a request in progress finishes; the next
 * request on an open connection is served too, its answer with {@code Connection: close} (Jetty
 * makes every answer of a shut-down connector the last of its connection); a connection idle for
 * {@link #IDLE_WHEN_STOPPING} is closed. A request being handled is never cut by that short idle
 * timeout. Connections the kernel had completed but Jetty had not yet accepted when the socket
 * closed are reset by the kernel ({@code net.ipv4.tcp_migrate_req=1} on Linux 5.14 and later hands
 * them to another socket of the port instead).
 *
 * <p>Handlers run on virtual threads and may block. Thread-safe.
 */
final class DemoServer implements AutoCloseable {
  /** A request: its method, path (query included), and body. */
  record Request(String method, String target, byte[] body) {
    String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    /** The target without its query. */
    String path() {
      int query = target.indexOf('?');
      return query < 0 ? target : target.substring(0, query);
    }
  }

  /** An answer: status, extra headers, and a text body ({@code text/plain} unless a header says otherwise). */
  record Response(int status, Map<String, String> headers, String body) {
    static Response of(int status, String body) {
      return new Response(status, Map.of(), body);
    }
  }

  /** Answers a request; runs on a virtual thread, and may block. */
  interface Handler {
    Response handle(Request request) throws Exception;
  }

  /** How long an open connection may stay idle once its connector is shut down. */
  static final Duration IDLE_WHEN_STOPPING = Duration.ofMillis(200);
  /** How long a kept-alive connection may stay idle otherwise. */
  static final Duration KEEP_ALIVE = Duration.ofSeconds(60);
  static final int MAX_BODY_BYTES = 64 * 1024;

  private final Server server;
  private final ServerConnector api;
  private final ServerConnector metrics;
  private final Handler apiHandler;
  private final Handler metricsHandler;
  private final boolean reusePort;
  /** The bound ports, kept: a closed connector no longer tells its port. */
  private final int apiPort;
  private final int metricsPort;
  /** Set once by {@link #closeConnectionsAfterEachAnswer()}; read by every handler thread. */
  private volatile boolean closeAfterEachAnswer;

  /**
   * Binds both ports of the loopback address now (port 0: one the kernel picks); with {@code
   * reusePort}, with {@code SO_REUSEPORT}, so that another process of the same user can bind the
   * same ports. Serves nothing until {@link #start()}.
   *
   * @throws BindException if a port is taken (without {@code SO_REUSEPORT} on both sides)
   * @throws IOException if a port cannot be bound for another reason
   */
  DemoServer(int apiPort, int metricsPort, boolean reusePort, Handler apiHandler, Handler metricsHandler)
      throws IOException {
    this.apiHandler = apiHandler;
    this.metricsHandler = metricsHandler;
    this.reusePort = reusePort;
    QueuedThreadPool threads = new QueuedThreadPool(16, 2);
    threads.setName("demo-http");
    threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server = new Server(threads);
    server.setStopTimeout(0); // close() is immediate; the hand-over is the graceful part
    HttpConfiguration config = new HttpConfiguration();
    config.setSendServerVersion(false);
    config.setSendXPoweredBy(false);
    api = connector(apiPort, config);
    metrics = connector(metricsPort, config);
    server.addConnector(api);
    server.addConnector(metrics);
    server.setHandler(new Dispatch());
    try {
      api.open();
      metrics.open();
    } catch (IOException e) {
      close();
      throw bindFailure(e);
    }
    this.apiPort = api.getLocalPort();
    this.metricsPort = metrics.getLocalPort();
  }

  private ServerConnector connector(int port, HttpConfiguration config) {
    ServerConnector c = new ServerConnector(server, 1, 1, new HttpConnectionFactory(config));
    c.setHost(InetAddress.getLoopbackAddress().getHostAddress());
    c.setPort(port);
    c.setReusePort(reusePort);
    c.setIdleTimeout(KEEP_ALIVE.toMillis());
    c.setShutdownIdleTimeout(IDLE_WHEN_STOPPING.toMillis());
    c.setAcceptQueueSize(128);
    return c;
  }

  /** Jetty wraps a taken port's {@link BindException}; unwrapped, the demo can say what to do. */
  private static IOException bindFailure(IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BindException bind) {
        BindException clear = new BindException(e.getMessage());
        clear.initCause(bind);
        return clear;
      }
    }
    return e;
  }

  /** The API's bound address. */
  InetSocketAddress apiAddress() {
    return loopback(apiPort);
  }

  /** The metrics and health port's bound address. */
  InetSocketAddress metricsAddress() {
    return loopback(metricsPort);
  }

  private static InetSocketAddress loopback(int port) {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
  }

  boolean reusePort() {
    return reusePort;
  }

  /** Starts serving both ports. */
  void start() throws Exception {
    server.start();
  }

  /** From now on every answer carries {@code Connection: close}; the listeners stay open. */
  void closeConnectionsAfterEachAnswer() {
    closeAfterEachAnswer = true;
  }

  /**
   * Shuts both connectors down gracefully (see the class comment): no new connection on either
   * port, the open ones finish their requests and close.
   *
   * @return how many connections were open, and a future done once none is
   */
  HandOver handOver() {
    closeAfterEachAnswer = true;
    int open = openConnections();
    CompletableFuture<Void> done = CompletableFuture.allOf(api.shutdown(), metrics.shutdown());
    return new HandOver(open, done);
  }

  /** A hand-over under way: the connections open when it began, and its end. */
  record HandOver(int open, CompletableFuture<Void> done) {
    /**
     * Waits until no connection is open, at most {@code timeout} or until {@code cancel} is done;
     * returns whether none is open.
     */
    boolean await(Duration timeout, CompletableFuture<?> cancel) throws InterruptedException {
      try {
        CompletableFuture.anyOf(done, cancel).get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException e) {
        return false;
      }
      return done.isDone() && !done.isCompletedExceptionally();
    }
  }

  /** Connections open now, on both ports. */
  int openConnections() {
    return api.getConnectedEndPoints().size() + metrics.getConnectedEndPoints().size();
  }

  /** Closes both listeners and every connection at once. */
  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      // stopping anyway: the process is about to end
    }
  }

  /** Sends each request to the handler of the connector it came in on. */
  private final class Dispatch extends org.eclipse.jetty.server.Handler.Abstract {
    Dispatch() {
      super(InvocationType.BLOCKING); // the handlers block: Jetty runs them on its virtual threads
    }

    @Override
    public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response,
        Callback callback) {
      // A request being handled is not cut by the short idle timeout of a shut-down connector: the
      // handler (a signup's JDBC transaction, say) may take longer than that, and a signup taken
      // but never answered would be retried and counted twice.
      request.addIdleTimeoutListener(timeout -> false);
      Handler handler = request.getConnectionMetaData().getConnector() == api ? apiHandler : metricsHandler;
      Response answer;
      try {
        byte[] body = readBody(request);
        answer = body == null
            ? Response.of(413, "the body is larger than " + MAX_BODY_BYTES + " bytes\n")
            : handler.handle(new Request(request.getMethod(), request.getHttpURI().getPathQuery(), body));
      } catch (Exception e) {
        answer = Response.of(500, "internal error\n");
      }
      byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
      response.setStatus(answer.status());
      response.getHeaders().put(HttpHeader.CONTENT_TYPE,
          answer.headers().getOrDefault("Content-Type", "text/plain; charset=utf-8"));
      answer.headers().forEach((name, value) -> {
        if (!name.equalsIgnoreCase("Content-Type")) {
          response.getHeaders().put(name, value);
        }
      });
      if (closeAfterEachAnswer) {
        response.getHeaders().put(HttpHeader.CONNECTION, "close");
      }
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
      response.write(true, ByteBuffer.wrap(bytes), callback);
      return true;
    }

    /** The body, or null if it is longer than {@link #MAX_BODY_BYTES}. */
    private static byte @Nullable [] readBody(org.eclipse.jetty.server.Request request) throws IOException {
      try (InputStream in = Content.Source.asInputStream(request)) {
        byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
        return body.length > MAX_BODY_BYTES ? null : body;
      }
    }
  }
}
