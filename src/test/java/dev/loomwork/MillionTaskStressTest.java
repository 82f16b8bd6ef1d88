package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A million tasks from 8 producers into a queue of concurrency 256, a tenth of them failing once,
 * with a shutdown racing the last producers: every accepted task is accounted for exactly once, and
 * every refused one threw. A correctness test, not a benchmark.
 */
class MillionTaskStressTest {
  private static final int PRODUCERS = 8;
  private static final int PER_PRODUCER = Integer.getInteger("loomwork.stress.perProducer", 125_000);
  private static final int TOTAL = PRODUCERS * PER_PRODUCER;

  private final AtomicIntegerArray bodyRuns = new AtomicIntegerArray(TOTAL);
  private final AtomicIntegerArray afterRuns = new AtomicIntegerArray(TOTAL);
  private final AtomicIntegerArray accepted = new AtomicIntegerArray(TOTAL);
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong failedOnce = new AtomicLong();
  /** The shutdown starts once 90 % of the tasks were submitted, while producers still submit. */
  private final CountDownLatch mostSubmitted = new CountDownLatch(TOTAL * 9 / 10);

  @Test
  void aMillionTasksWithAShutdownRacingTheProducers() throws Exception {
    WorkQueue queue =
        WorkQueue.builder("million")
            .concurrency(256)
            .retryPolicy(RetryPolicy.defaults().withRetries(1).withBackoff(Backoff.none()))
            .build();
    long start = System.nanoTime();
    queue.start();
    List<Thread> producers = new ArrayList<>();
    for (int p = 0; p < PRODUCERS; p++) {
      producers.add(startProducer(queue, p));
    }
    mostSubmitted.await();
    queue.shutdown();
    for (Thread producer : producers) {
      producer.join();
    }
    long elapsedMs = (System.nanoTime() - start) / 1_000_000;

    QueueStats stats = queue.stats();
    long acceptedCount = assertEachTaskRanOnceIfAcceptedAndNeverIfRefused();
    System.out.printf(
        "MillionTaskStressTest (%s runner): %d tasks offered, %d accepted, %d refused, %d attempts in %d ms; %s%n",
        System.getProperty("loomwork.expectedRunner", "?"), TOTAL, acceptedCount, rejected.get(),
        attempts(), elapsedMs, stats);
    assertEquals(TOTAL, acceptedCount + rejected.get(), "every task was accepted or refused");
    assertTrue(acceptedCount >= TOTAL * 9L / 10, "at least the tasks before the shutdown");
    assertEquals(acceptedCount, stats.submitted());
    assertEquals(rejected.get(), stats.rejected());
    assertEquals(acceptedCount, stats.succeeded(), "each task fails at most once and has one retry");
    assertEquals(0, stats.failed() + stats.cancelled() + stats.outstanding());
    assertTrue(queue.isTerminated());
    assertTrue(elapsedMs < Duration.ofMinutes(3).toMillis(), "took " + elapsedMs + " ms");
  }

  /** Producer {@code p} enqueues its share of the tasks; every tenth fails its first attempt. */
  private Thread startProducer(WorkQueue queue, int p) {
    int first = p * PER_PRODUCER;
    return Thread.ofPlatform().name("producer-" + p).start(() -> {
      for (int i = first; i < first + PER_PRODUCER; i++) {
        int id = i;
        boolean failsOnce = id % 10 == 7;
        Task<?> task = Task.of(ctx -> {
              bodyRuns.incrementAndGet(id);
              if (failsOnce && ctx.attempt() == 1) {
                failedOnce.incrementAndGet();
                throw new IllegalStateException("first attempt of " + id);
              }
            })
            .after(t -> afterRuns.incrementAndGet(id));
        try {
          queue.enqueue(task);
          accepted.set(id, 1);
        } catch (RejectedExecutionException e) {
          rejected.incrementAndGet();
          assertEquals(TaskState.NEW, task.state());
        }
        mostSubmitted.countDown();
      }
    });
  }

  /** Checks each task's runs; returns how many were accepted. */
  private long assertEachTaskRanOnceIfAcceptedAndNeverIfRefused() {
    long acceptedCount = 0;
    for (int id = 0; id < TOTAL; id++) {
      if (accepted.get(id) == 1) {
        acceptedCount++;
        int expectedRuns = id % 10 == 7 ? 2 : 1;
        assertEquals(expectedRuns, bodyRuns.get(id), "body runs of task " + id);
        assertEquals(1, afterRuns.get(id), "after-callback runs of task " + id);
      } else {
        assertEquals(0, bodyRuns.get(id), "a refused task ran: " + id);
        assertEquals(0, afterRuns.get(id), "a refused task completed: " + id);
      }
    }
    return acceptedCount;
  }

  private long attempts() {
    long attempts = 0;
    for (int id = 0; id < TOTAL; id++) {
      attempts += bodyRuns.get(id);
    }
    return attempts;
  }
}
