package dev.loomwork.bench;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Fork;

/**
 * The baseline of {@link TimerLateness}: a plain {@link ScheduledThreadPoolExecutor} with one
 * platform thread (as loomwork's scheduler), whose action starts a virtual thread for the second
 * attempt. First attempts run on virtual threads too, one per task, with no limit (loomwork's limit
 * is the round's size, so it never binds). Forks run without {@code --enable-preview}, with the
 * same heap as loomwork's.
 */
@Fork(
    value = 1,
    jvmArgs = {
      "--sun-misc-unsafe-memory-access=allow",
      "-Xms2g",
      "-Xmx2g"
    })
public class TimerLatenessBaseline extends TimerLateness {

  static final long BACKOFF_NANOS = BACKOFF.toNanos();

  final ThreadFactory virtual = Thread.ofVirtual().factory();
  ScheduledThreadPoolExecutor timer;

  @Override
  void start() {
    timer = new ScheduledThreadPoolExecutor(
        1, Thread.ofPlatform().daemon(true).name("baseline-timer").factory());
  }

  @Override
  void stop() throws InterruptedException {
    timer.shutdown(); // Baselines.close would load a class compiled for the preview API
    if (!timer.awaitTermination(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the timer did not terminate: " + timer);
    }
  }

  @Override
  void launch(Round r) {
    for (int i = 0; i < r.n; i++) {
      int index = i;
      virtual.newThread(() -> firstAttempt(r, index)).start();
    }
  }

  /** Parks on the gate, then fails: schedules the retry after the backoff. */
  private void firstAttempt(Round r, int i) {
    r.firstStarted.countDown();
    try {
      r.gate.await();
    } catch (InterruptedException e) {
      throw new IllegalStateException(e); // the round times out and fails
    }
    r.due[i] = System.nanoTime() + BACKOFF_NANOS;
    timer.schedule(
        () -> {
          r.ready[i] = System.nanoTime();
          virtual.newThread(
                  () -> {
                    r.start[i] = System.nanoTime();
                    r.done.countDown();
                  })
              .start();
        },
        BACKOFF_NANOS,
        TimeUnit.NANOSECONDS);
    r.scheduled.countDown();
  }

  @Override
  void settle(Round r) {}
}
