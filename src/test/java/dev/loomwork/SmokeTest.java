package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SmokeTest {
  @Test
  void runsAndRetries() throws Exception {
    try (WorkQueue q = WorkQueue.builder("smoke").build()) {
      q.start();
      AtomicInteger calls = new AtomicInteger();
      Task<String> t =
          q.enqueue(
              Task.ofJob(
                      ctx -> {
                        if (calls.incrementAndGet() < 3) {
                          throw new IllegalStateException("boom " + ctx.attempt());
                        }
                        return "ok " + TaskContext.current().attempt();
                      })
                  .backoff(Backoff.fixed(Duration.ofMillis(5))));
      assertEquals("ok 3", t.await());
      assertEquals(3, t.attempts());
    }
  }
}
