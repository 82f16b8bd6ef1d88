package dev.loomwork.postgres;

import dev.loomwork.MissedTicks;
import dev.loomwork.RecurringTask;
import dev.loomwork.Schedule;
import dev.loomwork.WorkQueue;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A worker process for {@link RecurringProcessTest}: runs queue {@code args[1]} of the store at JDBC
 * URL {@code args[0]}, declaring the recurring task {@code tick} (every second, each missed tick run),
 * until told to drain on standard input. Prints {@code start <scheduledAt> <taskId> <attempt>} before
 * each body, {@code ready} once the queue runs, {@code drained} at the end.
 */
public final class RecurringWorkerMain {
  private static final PrintStream out =
      new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

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
    q.start();
    out.println("ready");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.equals("drain")) {
        q.shutdown();
        out.println("drained " + q.stats());
        System.exit(0);
      }
      out.println("unknown command " + line);
    }
    q.shutdownNow();
    System.exit(3);
  }
}
