package dev.loomwork.bench;

import dev.loomwork.Backoff;
import dev.loomwork.RetryPolicy;
import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import dev.loomwork.WorkQueueListener;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;

/**
 * The loomwork side of {@link TimerLateness}: one queue per trial, concurrency and capacity equal to
 * the round's tasks, one retry after a fixed backoff. Abstract: {@link TimerLatenessStructured} and
 * {@link TimerLatenessFallback} choose the runner with their forks' options. Public API only.
 */
public abstract class TimerLatenessLoomwork extends TimerLateness {

  /** A clock on System.nanoTime(): the retry times the listener reports convert back exactly. */
  static final InstantSource NANO_CLOCK = () -> Instant.ofEpochSecond(0, System.nanoTime());

  static long nanos(Instant instant) {
    return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000_000L), instant.getNano());
  }

  WorkQueue queue;
  /** The round in progress: written before its tasks are enqueued, read by the listener. */
  volatile Round round;
  Task<?>[] handles;

  @Override
  void start() {
    queue = Bench.checkRunner(
        WorkQueue.builder("timers")
            .concurrency(tasks)
            .capacity(tasks)
            .retryPolicy(RetryPolicy.defaults().withRetries(1).withBackoff(Backoff.fixed(BACKOFF)))
            .clock(NANO_CLOCK)
            .listener(new Moments())
            .build());
    queue.start();
  }

  @Override
  void stop() {
    Bench.shutdown(queue);
  }

  @Override
  void launch(Round r) {
    round = r;
    handles = new Task<?>[r.n];
    for (int i = 0; i < r.n; i++) {
      int index = i;
      handles[i] = queue.enqueue(
          Task.of(
                  ctx -> {
                    long now = System.nanoTime();
                    if (ctx.attempt() == 1) {
                      r.firstStarted.countDown();
                      r.gate.await();
                      throw Bench.FAIL_ONCE;
                    }
                    r.start[index] = now;
                    r.done.countDown();
                  })
              .named(Integer.toString(i)));
    }
  }

  @Override
  void settle(Round r) throws Exception {
    Duration timeout = Duration.ofSeconds(Bench.BATCH_TIMEOUT_SECONDS);
    for (Task<?> task : handles) {
      task.await(timeout); // throws if the task failed
      if (task.attempts() != 2) {
        throw new IllegalStateException(task + " made " + task.attempts() + " attempts, not 2");
      }
    }
    handles = null;
  }

  /** Records each task's due time and the moment its second attempt became ready. */
  final class Moments implements WorkQueueListener {
    @Override
    public void onRetryScheduled(Task<?> task, Throwable error, Instant nextAttemptAt) {
      Round r = round;
      r.due[Integer.parseInt(task.name())] = nanos(nextAttemptAt);
      r.scheduled.countDown();
    }

    @Override
    public void onAttemptStarted(Task<?> task, int attempt, Duration waited) {
      long now = System.nanoTime(); // on the attempt thread, just after the engine read its start
      if (attempt == 2) {
        round.ready[Integer.parseInt(task.name())] = now - waited.toNanos();
      }
    }
  }
}
