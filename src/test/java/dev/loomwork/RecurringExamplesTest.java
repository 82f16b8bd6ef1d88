package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Java example of docs/recurring.md, compiled and run here: the region between the README
 * markers is what the page shows (ReadmeExamplesTest fails if they drift).
 */
class RecurringExamplesTest {
  /** Stands for the application's session store. */
  static final class Sessions {
    final List<Instant> cutoffs = new CopyOnWriteArrayList<>();
    final CountDownLatch cleaned = new CountDownLatch(1);

    void deleteOlderThan(Instant cutoff) {
      cutoffs.add(cutoff);
      cleaned.countDown();
    }
  }

  @Test
  void nightlyCleanUp() throws Exception {
    Sessions sessions = new Sessions();
    // README:recurring-java
    TaskType<Integer> cleanUp = TaskType.of("sessions.clean-up", new JacksonCodec<>(Integer.class));

    WorkQueue queue =
        WorkQueue.builder("maintenance")
            .handle(cleanUp, (ctx, days) ->
                sessions.deleteOlderThan(ctx.scheduledAt().minus(Duration.ofDays(days))))
            .recurring(
                RecurringTask.of("nightly-clean-up", Schedule.cron("30 2 * * *", "Europe/Berlin"), cleanUp, 30)
                    .missedTicks(MissedTicks.skip()))
            .build();
    queue.start();

    RecurringStatus status = queue.recurring().status("nightly-clean-up");
    System.out.println("next clean-up at " + status.nextRun());
    queue.recurring().triggerNow("nightly-clean-up"); // run one now, out of schedule
    // README:end
    assertTrue(sessions.cleaned.await(GENEROUS.toSeconds(), TimeUnit.SECONDS));
    queue.shutdown();
    assertEquals(1, sessions.cutoffs.size());
    assertTrue(status.nextRun().isAfter(Instant.now().minusSeconds(5)));
  }
}
