package dev.loomwork.postgres;

import dev.loomwork.TestTracing;
import dev.loomwork.WorkQueue;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.io.PrintStream;
import java.time.Duration;

/**
 * A worker process for {@link DurableTracingTest}: runs queue {@code args[1]} of the store at JDBC
 * URL {@code args[0]}, traced (Micrometer Tracing over OpenTelemetry, {@link TestTracing}), with a
 * handler whose first attempt fails. Prints {@code ready} once the queue runs, then, once two
 * attempt spans have ended, a line per span ({@link TestTracing#line}) and {@code done}, and exits.
 */
public final class TracedWorkerMain {
  private static final PrintStream out = WorkerLoop.OUT;

  private TracedWorkerMain() {}

  public static void main(String[] args) throws Exception {
    TestTracing tracing = new TestTracing();
    PostgresStore store =
        PostgresStore.builder(new UrlDataSource(args[0])).pollInterval(Duration.ofMillis(200)).build();
    WorkQueue q =
        WorkQueue.builder(args[1])
            .store(store)
            .observationRegistry(tracing.registry)
            .handle(
                DurableQueueTest.JOB,
                (ctx, p) -> {
                  if (ctx.attempt() == 1) {
                    throw new IllegalStateException("the first attempt fails");
                  }
                })
            .build();
    q.start();
    out.println("ready");
    for (SpanData s : tracing.await(args[1] + " attempt", 2)) {
      out.println(TestTracing.line(s));
    }
    q.shutdown();
    tracing.close();
    out.println("done");
    System.exit(0);
  }
}
