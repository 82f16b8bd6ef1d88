package dev.loomwork.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The other side of the webhooks: a local HTTP endpoint that takes {@code POST /hook}, waits
 * {@code delay}, and answers 503 for a fraction of the requests and 200 for the rest. It counts
 * what it accepted, by the {@code X-Signup-Id} header, so that a delivery retried after a 503 is
 * counted once.
 */
final class WebhookReceiver implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final double failRate;
  private final Duration delay;
  private final Set<String> delivered = ConcurrentHashMap.newKeySet();
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong unavailable = new AtomicLong();

  WebhookReceiver(double failRate, Duration delay) throws IOException {
    this.failRate = failRate;
    this.delay = delay;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(executor); // a slow receiver must not hold up the others
    server.createContext("/hook", this::handle);
    server.start();
  }

  URI uri() {
    InetSocketAddress address = server.getAddress();
    return URI.create("http://" + address.getHostString() + ":" + address.getPort() + "/hook");
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange; InputStream in = exchange.getRequestBody()) {
      in.readAllBytes();
      if (!"POST".equals(exchange.getRequestMethod())) {
        respond(exchange, 405, "POST only\n");
        return;
      }
      if (delay.isPositive()) {
        try {
          Thread.sleep(delay);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      if (ThreadLocalRandom.current().nextDouble() < failRate) {
        unavailable.incrementAndGet();
        respond(exchange, 503, "try again later\n");
        return;
      }
      String id = exchange.getRequestHeaders().getFirst("X-Signup-Id");
      accepted.incrementAndGet();
      if (id != null) {
        delivered.add(id);
      }
      respond(exchange, 200, "ok\n");
    }
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** Distinct signups whose webhook was answered 200: the receiver's count. */
  long delivered() {
    return delivered.size();
  }

  /** Requests answered 200, a duplicate delivery included. */
  long accepted() {
    return accepted.get();
  }

  /** Requests answered 503. */
  long unavailable() {
    return unavailable.get();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
