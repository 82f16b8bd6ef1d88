package dev.loomwork.postgres;

import dev.loomwork.Task;
import dev.loomwork.TaskCodec;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import dev.loomwork.WorkQueueListener;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;

/**
 * A worker process for {@link RollingDeployProcessTest}: one version of a deploy, running handler
 * {@code "profile"} of queue {@code args[1]} at the store at JDBC URL {@code args[0]}.
 *
 * <p>Version 1 of the payload is a JSON number; version 2 is a JSON string {@code "v2:<number>"}.
 * The old codec ({@link #OLD}) reads only numbers, so it fails on a version 2 payload; the new one
 * ({@link #NEW}) reads both.
 *
 * <p>Arguments: url, queue, version (1 or 2). Prints {@code start <id> v<version>} before each body
 * runs, {@code ok <id>} and {@code failed <id> <error>} at a task's end, {@code ready} once the queue
 * runs, {@code drained} at the end. Input: {@code drain} (shutdown(), then exit 0).
 */
public final class VersionedWorkerMain {
  private static final PrintStream out = WorkerLoop.OUT;

  /** The old release's type: version 1, whose codec reads numbers only. */
  static final TaskType<Integer> OLD =
      TaskType.of(
          "profile",
          new TaskCodec<Integer>() {
            @Override
            public String encode(Integer n) {
              return Integer.toString(n);
            }

            @Override
            public Integer decode(String json) {
              return Integer.parseInt(json.trim()); // a version 2 payload throws here
            }
          });

  /** The new release's type: version 2, which writes strings and reads numbers and strings. */
  static final TaskType<Integer> NEW =
      TaskType.of(
              "profile",
              new TaskCodec<Integer>() {
                @Override
                public String encode(Integer n) {
                  return "\"v2:" + n + "\"";
                }

                @Override
                public Integer decode(String json) {
                  String s = json.trim();
                  return s.startsWith("\"v2:")
                      ? Integer.parseInt(s.substring(4, s.length() - 1))
                      : Integer.parseInt(s);
                }
              })
          .withVersion(2);

  private VersionedWorkerMain() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String queue = args[1];
    int version = Integer.parseInt(args[2]);
    TaskType<Integer> type = version == 2 ? NEW : OLD;
    PostgresStore store =
        PostgresStore.builder(new UrlDataSource(url))
            // A lease that a loaded machine does not lose by a late heartbeat: the test counts
            // attempts, and a worker that loses its lease cuts its attempts and they start again.
            .lease(Duration.ofMillis(DurableProcessTest.WORK_OFF_LEASE_MILLIS))
            .rescueInterval(Duration.ofMillis(200))
            .pollInterval(Duration.ofMillis(500))
            .build();
    WorkQueue q =
        WorkQueue.builder(queue)
            .store(store)
            .concurrency(4)
            .handle(type, (ctx, n) -> out.println("start " + ctx.taskId() + " v" + version))
            .listener(
                new WorkQueueListener() {
                  @Override
                  public void onSucceeded(Task<?> task) {
                    out.println("ok " + task.id());
                  }

                  @Override
                  public void onFailed(Task<?> task, Throwable error) {
                    out.println("failed " + task.id() + " " + error);
                  }
                })
            .build();
    WorkerLoop.serve(q, Map.of());
  }
}
