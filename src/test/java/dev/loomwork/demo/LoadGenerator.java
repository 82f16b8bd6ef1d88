package dev.loomwork.demo;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code --load N}: posts N signups to the demo's own API, a few at a time, like a burst of users.
 * On a terminal it redraws one rate line; otherwise (a pipe, a CI log, a test) it prints a plain
 * line every second.
 */
final class LoadGenerator {
  /** What the load did. */
  record Result(int sent, long accepted, long refused, Duration elapsed) {
    double rate() {
      return accepted * 1e9 / Math.max(1, elapsed.toNanos());
    }
  }

  private static final int IN_FLIGHT = 16;

  private final URI signup;
  private final int count;
  private final PrintStream out;
  private final boolean terminal;

  LoadGenerator(URI signup, int count, PrintStream out, boolean terminal) {
    this.signup = signup;
    this.count = count;
    this.out = out;
    this.terminal = terminal;
  }

  Result run() throws InterruptedException {
    AtomicLong accepted = new AtomicLong();
    AtomicLong refused = new AtomicLong();
    Semaphore inFlight = new Semaphore(IN_FLIGHT);
    long start = System.nanoTime();
    Thread progress = Thread.ofPlatform().daemon().name("demo-load-progress").start(() -> {
      try {
        while (true) {
          Thread.sleep(terminal ? 200 : 1000);
          progressLine(accepted.get(), refused.get(), start, false);
        }
      } catch (InterruptedException e) {
        // the load is over
      }
    });
    try (HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 1; i <= count; i++) {
        inFlight.acquire();
        String user = "user" + i + "@example.com";
        senders.execute(() -> {
          try {
            HttpResponse<String> response = client.send(
                HttpRequest.newBuilder(signup)
                    .timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString(user))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
            (response.statusCode() == 202 ? accepted : refused).incrementAndGet();
          } catch (Exception e) {
            refused.incrementAndGet(); // the server stopped taking signups, or went away
          } finally {
            inFlight.release();
          }
        });
      }
      senders.shutdown();
      senders.awaitTermination(1, TimeUnit.DAYS);
    } finally {
      progress.interrupt();
      progress.join();
    }
    progressLine(accepted.get(), refused.get(), start, true);
    return new Result(count, accepted.get(), refused.get(), Duration.ofNanos(System.nanoTime() - start));
  }

  private void progressLine(long accepted, long refused, long start, boolean last) {
    long done = accepted + refused;
    double seconds = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
    String rate = String.format(Locale.ROOT, "%.0f/s", accepted / seconds);
    if (terminal) {
      int width = 30;
      int filled = (int) (width * done / Math.max(1, count));
      String bar = "#".repeat(filled) + "-".repeat(width - filled);
      out.print("\rload: [" + bar + "] " + done + "/" + count + " " + rate + (last ? "\n" : ""));
      out.flush();
    } else if (!last) {
      out.println("load: " + done + "/" + count + " signups sent, " + rate);
    }
  }
}
