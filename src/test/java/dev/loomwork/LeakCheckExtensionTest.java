package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.LeakCheckExtension.LiveThread;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;

/** The leak check sees what it must: it is registered for this class too, so each test cleans up. */
class LeakCheckExtensionTest {
  private static final Duration SHORT = Duration.ofMillis(200);

  private static List<String> names(List<LiveThread> threads) {
    return threads.stream().map(LiveThread::name).toList();
  }

  @Test
  void aLeakedVirtualAttemptThreadIsSeenUntilItEnds() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    Thread leaked =
        Thread.ofVirtual()
            .name("loomwork-leakcheck-1")
            .start(() -> {
              try {
                release.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    try {
      List<LiveThread> found = LeakCheckExtension.leakedThreads(SHORT, Set.of());
      assertEquals(List.of("loomwork-leakcheck-1"), names(found), found::toString);
      assertTrue(found.getFirst().virtual(), "reported as a virtual thread");
      assertTrue(
          found.getFirst().stack().stream().anyMatch(f -> f.contains("CountDownLatch.await")),
          "the report shows where it is stuck");
    } finally {
      release.countDown();
    }
    // Not joined: the check's grace period covers a thread that is ending.
    assertEquals(List.of(), names(LeakCheckExtension.leakedThreads(LeakCheckExtension.GRACE, Set.of())));
    leaked.join();
  }

  @Test
  void aPlatformThreadWithAnotherNameIsSeenWhileItRunsEngineCode() throws Exception {
    WorkQueue queue = WorkQueue.builder("leakcheck").capacity(1).build(); // never started: stays full
    queue.submit(ctx -> {});
    CompletableFuture<Throwable> producerEnd = new CompletableFuture<>();
    Thread producer =
        Thread.ofPlatform()
            .name("stuck-producer")
            .start(() -> {
              try {
                queue.submit(ctx -> {});
                producerEnd.complete(null);
              } catch (Throwable e) {
                producerEnd.complete(e);
              }
            });
    try {
      // Poll until it is blocked in the engine (no sleep: each dump is the wait).
      List<LiveThread> found;
      do {
        found = LeakCheckExtension.leakedThreads(Duration.ZERO, Set.of());
      } while (!names(found).contains("stuck-producer") && !producerEnd.isDone());
      assertTrue(names(found).contains("stuck-producer"), found::toString);
    } finally {
      queue.shutdownNow();
    }
    assertInstanceOf(RejectedExecutionException.class, producerEnd.get());
    producer.join();
    assertFalse(
        names(LeakCheckExtension.leakedThreads(LeakCheckExtension.GRACE, Set.of())).contains("stuck-producer"));
  }

  @Test
  void anUncaughtExceptionIsRecordedWithItsThread() throws Exception {
    LeakCheckExtension.install();
    LeakCheckExtension.takeUncaught(); // start clean
    Thread thrower =
        Thread.ofVirtual()
            .name("thrower")
            .start(() -> {
              throw new IllegalStateException("deliberately uncaught");
            });
    thrower.join();
    // Taking them here keeps this test from failing: the extension would have failed it.
    assertEquals(
        List.of("in \"thrower\": java.lang.IllegalStateException: deliberately uncaught"),
        LeakCheckExtension.takeUncaught());
  }
}
