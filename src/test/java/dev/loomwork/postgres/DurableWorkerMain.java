package dev.loomwork.postgres;

import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import dev.loomwork.WorkQueueListener;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A worker process for {@link DurableProcessTest}: runs queue {@code args[1]} of the store at JDBC
 * URL {@code args[0]} until told to drain on standard input.
 *
 * <p>Arguments: url, queue, concurrency, lease in ms, rescue interval in ms, behaviour ({@code noop}:
 * return at once; {@code block}: wait for a {@code release} line, interruptibly). Prints {@code
 * start <id> <attempt>} before each body runs and {@code ok <id>} when a task's success is
 * published; {@code ready} once the queue runs, {@code drained} at the end. Input lines: {@code
 * release} (blocked bodies return), {@code drain} (shutdown(), then exit 0).
 */
public final class DurableWorkerMain {
  private static final PrintStream out = WorkerLoop.OUT;
  private static final CountDownLatch released = new CountDownLatch(1);

  private DurableWorkerMain() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String queue = args[1];
    int concurrency = Integer.parseInt(args[2]);
    Duration lease = Duration.ofMillis(Long.parseLong(args[3]));
    Duration rescue = Duration.ofMillis(Long.parseLong(args[4]));
    boolean block = args[5].equals("block");
    PostgresStore store =
        PostgresStore.builder(new UrlDataSource(url))
            .lease(lease)
            .rescueInterval(rescue)
            .pollInterval(Duration.ofMillis(500))
            .build();
    WorkQueue q =
        WorkQueue.builder(queue)
            .store(store)
            .concurrency(concurrency)
            .handle(
                DurableQueueTest.JOB,
                (ctx, p) -> {
                  out.println("start " + ctx.taskId() + " " + ctx.attempt());
                  if (block) {
                    released.await();
                  }
                })
            .listener(
                new WorkQueueListener() {
                  @Override
                  public void onSucceeded(Task<?> task) {
                    out.println("ok " + task.id());
                  }
                })
            .build();
    WorkerLoop.serve(q, Map.of("release", released::countDown));
  }
}
