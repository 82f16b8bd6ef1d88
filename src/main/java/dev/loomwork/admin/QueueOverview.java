package dev.loomwork.admin;

import dev.loomwork.QueueHealth;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One queue at a glance: its tasks by state, and whether it is paused.
 *
 * <p>The counts mean slightly different things by {@link QueueKind}. A durable queue's are the rows
 * its store holds now, from every process: the ended ones are those still kept for retention. A
 * memory queue's pending and running counts are its own now, and its ended counts are the tasks
 * that ended since the queue was built ({@link dev.loomwork.QueueStats}).
 *
 * @param queue the queue's name
 * @param kind where its tasks live
 * @param paused whether its workers claim nothing now ({@link StoreAdmin#pause}); always false for
 *     a memory queue
 * @param ready tasks due and waiting for a worker
 * @param waiting tasks waiting for a not-before time or a retry's backoff
 * @param running tasks with an attempt in flight
 * @param succeeded tasks that succeeded (see above)
 * @param failed tasks that failed (see above)
 * @param cancelled tasks that were cancelled (see above)
 * @param health a memory queue's health (its lifecycle, capacity, concurrency, oldest ready age);
 *     null for a durable queue, which has no one process's health
 */
public record QueueOverview(
    String queue,
    QueueKind kind,
    boolean paused,
    long ready,
    long waiting,
    long running,
    long succeeded,
    long failed,
    long cancelled,
    @Nullable QueueHealth health) {

  /** Checks that no count is negative and no required component is null. */
  public QueueOverview {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(kind, "kind");
    if (ready < 0 || waiting < 0 || running < 0 || succeeded < 0 || failed < 0 || cancelled < 0) {
      throw new IllegalArgumentException("counts: negative (expected: >= 0)");
    }
  }

  /**
   * Returns the tasks not yet ended.
   *
   * @return {@code ready + waiting + running}
   */
  public long outstanding() {
    return ready + waiting + running;
  }
}
