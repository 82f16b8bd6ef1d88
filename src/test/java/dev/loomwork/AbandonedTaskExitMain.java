package dev.loomwork;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM for {@code EngineDefectsTest}: starts a queue, runs a task that ignores its interruption
 * for two minutes, shuts the queue down with a short deadline (so the task is abandoned), prints the
 * report and returns from {@code main}. The JVM must then exit on its own, long before the task ends.
 */
public final class AbandonedTaskExitMain {
  static final String REPORT = "child report: ";

  private AbandonedTaskExitMain() {}

  public static void main(String[] args) throws InterruptedException {
    WorkQueue queue = WorkQueue.builder("abandon-exit").abandonAfter(Duration.ofMillis(100)).build();
    queue.start();
    CountDownLatch started = new CountDownLatch(1);
    queue.enqueue(Task.of(ctx -> {
      started.countDown();
      long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (System.nanoTime() - end < 0) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException ignored) {
          // ignores its interruption: the shutdown has to abandon it
        }
      }
    }).named("stubborn"));
    if (!started.await(30, TimeUnit.SECONDS)) {
      System.out.println("child: the task never started");
      System.exit(2);
    }
    ShutdownReport report = queue.shutdown(Duration.ofMillis(200));
    System.out.println(
        REPORT + "abandoned=" + names(report.abandoned()) + " cancelled=" + names(report.cancelled()));
    System.out.println("child: main returns");
  }

  private static List<String> names(List<TaskSnapshot> tasks) {
    return tasks.stream().map(TaskSnapshot::name).toList();
  }
}
