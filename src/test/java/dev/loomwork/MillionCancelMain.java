package dev.loomwork;

/**
 * A child JVM for {@code EngineDefectsTest}, run with {@code -Xmx512m}: fills a queue that was never
 * started with a million no-op tasks (keeping no handle), calls {@code shutdownNow()} from a deep stack
 * and prints how many tasks the report lists as cancelled.
 */
public final class MillionCancelMain {
  static final String REPORT = "child report: ";
  static final int TASKS = 1_000_000;
  static final int DEPTH = 3_000;

  private MillionCancelMain() {}

  public static void main(String[] args) {
    WorkQueue queue = WorkQueue.builder("million-cancel").capacity(TASKS).build(); // never started
    for (int i = 0; i < TASKS; i++) {
      queue.submit(ctx -> {});
    }
    ShutdownReport report = deep(DEPTH, queue);
    System.out.println(REPORT + "cancelled=" + report.cancelled().size() + " succeeded="
        + report.succeeded() + " abandoned=" + report.abandoned().size());
  }

  /** Calls {@code shutdownNow()} {@code frames} frames deeper than the caller. */
  private static ShutdownReport deep(int frames, WorkQueue queue) {
    if (frames == 0) {
      return queue.shutdownNow();
    }
    ShutdownReport report = deep(frames - 1, queue);
    return report; // not a tail call: every frame stays on the stack
  }
}
