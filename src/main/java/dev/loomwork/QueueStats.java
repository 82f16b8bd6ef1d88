package dev.loomwork;

/**
 * A consistent snapshot of a queue's counts, taken under the queue's lock. Counts of tasks, not of
 * attempts.
 *
 * @param submitted tasks accepted since the queue was built
 * @param rejected submissions refused: the queue was shut down, or full (for {@code offer}). A
 *     producer that gave up waiting for room (interrupted, or a cancelled coroutine) was not refused
 *     and is not counted here, nor anywhere else
 * @param ready tasks waiting in the ready queue
 * @param running tasks with an attempt in flight
 * @param waiting tasks waiting for their not-before time or a retry backoff
 * @param succeeded tasks that succeeded
 * @param failed tasks that failed
 * @param cancelled tasks that were cancelled
 */
public record QueueStats(
    long submitted,
    long rejected,
    int ready,
    int running,
    int waiting,
    long succeeded,
    long failed,
    long cancelled) {

  /**
   * Returns the number of accepted tasks not yet in a terminal state.
   *
   * @return {@code ready + running + waiting}
   */
  public long outstanding() {
    return (long) ready + running + waiting;
  }

  /**
   * Returns the number of tasks in a terminal state.
   *
   * @return {@code succeeded + failed + cancelled}
   */
  public long completed() {
    return succeeded + failed + cancelled;
  }
}
