package dev.loomwork.demo;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * {@code --load N}: posts N signups to the demo's API, a few at a time, like a burst of users. On a
 * terminal it redraws one rate line; otherwise (a pipe, a CI log, a test) it prints a plain line
 * every second. {@code DemoProcessTest} also runs one in its own JVM across a hand-over, until it
 * {@linkplain #stop() stops} it.
 *
 * <p>Each signup ends one way: accepted (202), refused (an answer other than 202, such as a 503
 * while the demo drains, or a connection refused: nobody listens), or failed (a timeout, or a
 * connection that closed without an answer three times). A connection that closed or was reset
 * before any answer is tried again, at most twice, and counted as a retry: the demo's server never
 * closes a connection after reading a request it has not answered, so such a request was not
 * taken (a reused keep-alive connection the server closed as idle, or one reset in the accept queue
 * of a listener that closed). {@code DemoProcessTest} checks that no retried signup was counted
 * twice.
 */
final class LoadGenerator {
  /** What the load did; {@code acceptedByPid} counts the 202s by the pid of the demo that sent them. */
  record Result(long sent, long accepted, long refused, long failed, long retried, Duration elapsed,
      Map<Long, Long> acceptedByPid) {
    double rate() {
      return accepted * 1e9 / Math.max(1, elapsed.toNanos());
    }
  }

  private static final int DEFAULT_IN_FLIGHT = 16;
  private static final int TRIES = 3;
  private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");

  private final URI signup;
  private final long count;
  private final int maxInFlight;
  private final @Nullable PrintStream out;
  private final boolean terminal;
  /** Whether signups share kept-alive connections; if not, each request opens a connection of its own. */
  private final boolean keepAlive;
  private volatile boolean stopped;

  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong retried = new AtomicLong();
  private final Map<Long, AtomicLong> byPid = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> errors = new ConcurrentHashMap<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition progressed = lock.newCondition();

  LoadGenerator(URI signup, int count, PrintStream out, boolean terminal) {
    this(signup, count, DEFAULT_IN_FLIGHT, true, out, terminal);
  }

  /**
   * {@code count} signups, or until {@link #stop()} if it is {@link Long#MAX_VALUE}, at most {@code
   * maxInFlight} at a time, over kept-alive connections or a new connection each.
   */
  LoadGenerator(URI signup, long count, int maxInFlight, boolean keepAlive, @Nullable PrintStream out,
      boolean terminal) {
    this.signup = signup;
    this.count = count;
    this.maxInFlight = maxInFlight;
    this.keepAlive = keepAlive;
    this.out = out;
    this.terminal = terminal;
  }

  /** Sends no further signup; {@link #run()} returns once those in flight have ended. */
  void stop() {
    stopped = true;
  }

  long accepted() {
    return accepted.get();
  }

  /** The errors behind retries, refusals and failures, by kind: for a failure message. */
  Map<String, Long> errors() {
    Map<String, Long> copy = new HashMap<>();
    errors.forEach((k, v) -> copy.put(k, v.get()));
    return copy;
  }

  /** Waits until at least {@code n} signups have been accepted in all. */
  void awaitAccepted(long n, Duration timeout) throws InterruptedException, TimeoutException {
    awaitAccepted(n, -1, timeout);
  }

  /** Waits until at least {@code n} signups have been accepted by the demo of {@code pid} (-1: any). */
  void awaitAccepted(long n, long pid, Duration timeout) throws InterruptedException, TimeoutException {
    long nanos = timeout.toNanos();
    lock.lock();
    try {
      while ((pid < 0 ? accepted.get() : byPid.getOrDefault(pid, new AtomicLong()).get()) < n) {
        if (nanos <= 0) {
          throw new TimeoutException("load: not " + n + " signups accepted" + (pid < 0 ? "" : " by pid " + pid)
              + " within " + timeout + ": accepted " + accepted.get() + " (by pid " + byPid + "), refused "
              + refused.get() + ", failed " + failed.get() + ", errors " + errors());
        }
        nanos = progressed.awaitNanos(nanos);
      }
    } finally {
      lock.unlock();
    }
  }

  Result run() throws InterruptedException {
    Semaphore inFlight = new Semaphore(maxInFlight);
    long start = System.nanoTime();
    Thread progress = out == null ? null : Thread.ofPlatform().daemon().name("demo-load-progress").start(() -> {
      try {
        while (true) {
          Thread.sleep(terminal ? 200 : 1000);
          progressLine(start, false);
        }
      } catch (InterruptedException e) {
        // the load is over
      }
    });
    try (HttpClient client = newClient();
        ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
      for (long i = 1; i <= count && !stopped; i++) {
        inFlight.acquire();
        if (stopped) {
          inFlight.release();
          break;
        }
        sent.incrementAndGet();
        String user = "user" + i + "@example.com";
        senders.execute(() -> {
          try {
            send(keepAlive ? client : null, user);
          } finally {
            inFlight.release();
            lock.lock();
            try {
              progressed.signalAll();
            } finally {
              lock.unlock();
            }
          }
        });
      }
      senders.shutdown();
      senders.awaitTermination(1, TimeUnit.DAYS);
    } finally {
      if (progress != null) {
        progress.interrupt();
        progress.join();
      }
    }
    progressLine(start, true);
    Map<Long, Long> pids = new HashMap<>();
    byPid.forEach((pid, n) -> pids.put(pid, n.get()));
    return new Result(sent.get(), accepted.get(), refused.get(), failed.get(), retried.get(),
        Duration.ofNanos(System.nanoTime() - start), pids);
  }

  private static HttpClient newClient() {
    return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** Sends one signup on {@code shared}'s connections, or (if null) on a connection of its own. */
  private void send(@Nullable HttpClient shared, String user) {
    HttpRequest request = HttpRequest.newBuilder(signup)
        .timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(user))
        .build();
    for (int attempt = 1; ; attempt++) {
      HttpClient client = shared != null ? shared : newClient();
      try {
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 202) {
          accepted.incrementAndGet();
          Matcher pid = PID.matcher(response.body());
          if (pid.find()) {
            byPid.computeIfAbsent(Long.parseLong(pid.group(1)), p -> new AtomicLong()).incrementAndGet();
          }
        } else {
          note("HTTP " + response.statusCode());
          refused.incrementAndGet();
        }
        return;
      } catch (ConnectException e) {
        note("connect: " + e.getMessage());
        refused.incrementAndGet(); // nobody listens: the server stopped taking signups, or went away
        return;
      } catch (HttpTimeoutException e) {
        note("timeout");
        failed.incrementAndGet();
        return;
      } catch (IOException e) {
        // Closed or reset before any answer: the server did not take the request.
        note("no answer: " + e);
        if (attempt == TRIES) {
          failed.incrementAndGet();
          return;
        }
        retried.incrementAndGet();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failed.incrementAndGet();
        return;
      } finally {
        if (shared == null) {
          client.shutdownNow(); // its one connection closes with it
        }
      }
    }
  }

  private void note(String error) {
    errors.computeIfAbsent(error, k -> new AtomicLong()).incrementAndGet();
  }

  private void progressLine(long start, boolean last) {
    PrintStream o = out;
    if (o == null) {
      return;
    }
    long done = accepted.get() + refused.get() + failed.get();
    double seconds = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
    String rate = String.format(Locale.ROOT, "%.0f/s", accepted.get() / seconds);
    if (terminal) {
      int width = 30;
      int filled = (int) (width * done / Math.max(1, count));
      String bar = "#".repeat(filled) + "-".repeat(width - filled);
      o.print("\rload: [" + bar + "] " + done + "/" + count + " " + rate + (last ? "\n" : ""));
      o.flush();
    } else if (!last) {
      o.println("load: " + done + "/" + count + " signups sent, " + rate);
    }
  }
}
