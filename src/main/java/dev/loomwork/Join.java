package dev.loomwork;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** {@link WorkQueue#join}: several queues shut down in parallel under one deadline. */
final class Join {
  private Join() {}

  /** Checks the array and each queue in it; returns it. */
  static WorkQueue[] requireEach(WorkQueue[] queues) {
    Objects.requireNonNull(queues, "queues");
    for (int i = 0; i < queues.length; i++) {
      Objects.requireNonNull(queues[i], "queues[" + i + "]");
    }
    return queues;
  }

  /**
   * Checks the arguments, then shuts every queue down with {@code timeout}, each on a virtual thread
   * of its own, and collects the reports in order. An interrupt does not stop the collection (each
   * shutdown returns by its deadline); it is restored at the end.
   */
  static List<ShutdownReport> shutdownAll(Duration timeout, WorkQueue[] queues) {
    Objects.requireNonNull(timeout, "timeout");
    requireEach(queues);
    List<CompletableFuture<ShutdownReport>> reports = new ArrayList<>(queues.length);
    for (WorkQueue queue : queues) {
      CompletableFuture<ShutdownReport> report = new CompletableFuture<>();
      Thread.ofVirtual()
          .name("loomwork-" + queue.name() + "-join")
          .start(
              () -> {
                try {
                  report.complete(queue.shutdown(timeout));
                } catch (Throwable e) {
                  report.completeExceptionally(e);
                }
              });
      reports.add(report);
    }
    List<ShutdownReport> result = new ArrayList<>(queues.length);
    boolean interrupted = false;
    for (CompletableFuture<ShutdownReport> report : reports) {
      while (true) {
        try {
          result.add(report.get());
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          throw new IllegalStateException("shutdown failed", e.getCause());
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return List.copyOf(result);
  }
}
