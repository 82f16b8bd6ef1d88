package dev.loomwork.postgres;

import dev.loomwork.MissedTicks;
import dev.loomwork.RecurringTask;
import dev.loomwork.Schedule;
import dev.loomwork.WorkQueue;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;

/**
 * A worker process for {@link RecurringProcessTest}: runs queue {@code args[1]} of the store at JDBC
 * URL {@code args[0]}, declaring the recurring task {@code tick} (every second, each missed tick run),
 * until told to drain on standard input. Prints {@code start <scheduledAt> <taskId> <attempt>} before
 * each body, {@code ready} once the queue runs, {@code drained} at the end.
 */
public final class RecurringWorkerMain {
  private static final PrintStream out = WorkerLoop.OUT;

  private RecurringWorkerMain() {}

  public static void main(String[] args) throws Exception {
    PostgresStore store =
        PostgresStore.builder(new UrlDataSource(args[0]))
            .lease(Duration.ofMillis(Long.parseLong(args[2])))
            .rescueInterval(Duration.ofMillis(Long.parseLong(args[3])))
            .pollInterval(Duration.ofMillis(200))
            .build();
    WorkQueue q =
        WorkQueue.builder(args[1])
            .store(store)
            .handle(
                DurableQueueTest.JOB,
                (ctx, p) -> out.println("start " + ctx.scheduledAt() + " " + ctx.taskId() + " " + ctx.attempt()))
            .recurring(
                RecurringTask.of("tick", Schedule.fixedRate(Duration.ofSeconds(1)), DurableQueueTest.JOB, 0)
                    .missedTicks(MissedTicks.runEach(1_000)))
            .build();
    WorkerLoop.serve(q, Map.of());
  }
}
