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
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * The other side of the webhooks: a local HTTP endpoint that takes {@code POST /hook}, waits
 * {@code delay}, and answers 503 for a fraction of the requests and 200 for the rest. It counts the
 * requests it answered 200 by their {@code Idempotency-Key} header (the task id of the delivery), so
 * that a retry after a 503 is one delivery, and a delivery repeated after a shutdown cut its attempt
 * and the next process re-queued it shows as a key delivered twice.
 *
 * <p>A delivery counts once the receiver has decided to answer 200, before the answer is written:
 * like a real receiver, it has done its work even if the sender is gone by then and never learns of
 * it. That is the at-least-once case an idempotency key exists for.
 *
 * <p>For {@code DemoProcessTest}, which runs one receiver for two demo processes: it can hold
 * requests at a gate ({@link #holdRequestsAfter}, {@link #release}) so that attempts are running
 * for certain when a shutdown cuts them, and it can be waited on ({@link #awaitHeld}, {@link
 * #awaitIdle}).
 */
final class WebhookReceiver implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final double failRate;
  private final Duration delay;
  private final Map<String, AtomicLong> deliveries = new ConcurrentHashMap<>();
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong unavailable = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private volatile long holdAfter = Long.MAX_VALUE;
  private final CountDownLatch gate = new CountDownLatch(1);

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private int inFlight; // guarded by lock
  private int held; // guarded by lock

  WebhookReceiver(double failRate, Duration delay) throws IOException {
    this(failRate, delay, 0);
  }

  /** A receiver on {@code port} of the loopback address (0: any free port). */
  WebhookReceiver(double failRate, Duration delay, int port) throws IOException {
    this.failRate = failRate;
    this.delay = delay;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
    server.setExecutor(executor); // a slow receiver must not hold up the others
    server.createContext("/hook", this::handle);
    server.start();
  }

  URI uri() {
    InetSocketAddress address = server.getAddress();
    return URI.create("http://" + address.getHostString() + ":" + address.getPort() + "/hook");
  }

  private void handle(HttpExchange exchange) throws IOException {
    change(+1, 0);
    try (exchange; InputStream in = exchange.getRequestBody()) {
      in.readAllBytes();
      if (!"POST".equals(exchange.getRequestMethod())) {
        respond(exchange, 405, "POST only\n");
        return;
      }
      if (requests.incrementAndGet() > holdAfter) {
        change(0, +1);
        try {
          gate.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        } finally {
          change(0, -1);
        }
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
      String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
      accepted.incrementAndGet();
      if (key != null) {
        deliveries.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
      }
      respond(exchange, 200, "ok\n");
    } finally {
      change(-1, 0);
    }
  }

  private void change(int inFlightDelta, int heldDelta) {
    lock.lock();
    try {
      inFlight += inFlightDelta;
      held += heldDelta;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** Distinct idempotency keys answered 200: the receiver's count of webhooks delivered. */
  long delivered() {
    return deliveries.size();
  }

  /** The most often any one idempotency key was answered 200: 1 if no delivery was repeated. */
  long maxDeliveriesOfOneKey() {
    return deliveries.values().stream().mapToLong(AtomicLong::get).max().orElse(0);
  }

  /** A copy of the deliveries answered 200, by idempotency key. */
  Map<String, Long> deliveriesByKey() {
    Map<String, Long> copy = new HashMap<>();
    deliveries.forEach((key, n) -> copy.put(key, n.get()));
    return copy;
  }

  /** Requests answered 200, a repeated delivery included. */
  long accepted() {
    return accepted.get();
  }

  /** Requests answered 503. */
  long unavailable() {
    return unavailable.get();
  }

  /**
   * From now on, every POST after the first {@code n} (counted since the receiver started) waits,
   * before it is answered, until {@link #release}: the attempts that sent them keep running.
   */
  void holdRequestsAfter(long n) {
    holdAfter = n;
  }

  /** Lets the held requests, and every later one, through. */
  void release() {
    holdAfter = Long.MAX_VALUE;
    gate.countDown();
  }

  /** Waits until {@code n} requests are held at the gate. */
  void awaitHeld(int n, Duration timeout) throws InterruptedException, TimeoutException {
    await(() -> held >= n, timeout, n + " held requests");
  }

  /** Waits until no request is being handled. */
  void awaitIdle(Duration timeout) throws InterruptedException, TimeoutException {
    await(() -> inFlight == 0, timeout, "no request in flight");
  }

  private void await(BooleanSupplier condition, Duration timeout, String what)
      throws InterruptedException, TimeoutException {
    long nanos = timeout.toNanos();
    lock.lock();
    try {
      while (!condition.getAsBoolean()) {
        if (nanos <= 0) {
          throw new TimeoutException("webhook receiver: not " + what + " within " + timeout
              + " (in flight " + inFlight + ", held " + held + ")");
        }
        nanos = changed.awaitNanos(nanos);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    release();
    server.stop(0);
    executor.shutdownNow();
  }
}
