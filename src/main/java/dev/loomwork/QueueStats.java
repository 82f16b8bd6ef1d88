package dev.loomwork;

/**
 * A consistent snapshot of a queue's counts, taken under the queue's lock. Counts of tasks, not of
 * attempts. At every snapshot {@code submitted = outstanding() + completed() + handedBack +
 * unwritten}, on a queue in memory (where {@code handedBack} and {@code unwritten} are 0) and on a
 * durable one.
 *
 * @param submitted tasks accepted since the queue was built; on a durable queue, tasks claimed from
 *     the store by this process (a task claimed again after a retry or a release counts again)
 * @param rejected submissions refused: the queue was shut down, or full (for {@code offer}). A
 *     producer that gave up waiting for room (interrupted, or a cancelled coroutine) was not refused
 *     and is not counted here, nor anywhere else
 * @param ready tasks waiting in the ready queue
 * @param running tasks with an attempt in flight
 * @param waiting tasks waiting for their not-before time or a retry backoff
 * @param succeeded tasks that succeeded; on a durable queue, those whose outcome the store wrote
 * @param failed tasks that failed; on a durable queue, those whose outcome the store wrote
 * @param cancelled tasks that were cancelled; on a durable queue, those whose outcome the store wrote
 * @param handedBack tasks that left this process with no end here, handed back to their durable
 *     store: a retry the store schedules, a task released by a cutting shutdown, or every task of a
 *     worker that lost its lease; always 0 on a queue in memory
 * @param unwritten tasks of a durable queue whose attempt ended here (succeeded, failed or
 *     cancelled) but whose outcome the store has not written yet: they move to their count once it
 *     is written. With the database unreachable they stay here, and if the queue terminates so, the
 *     store's rescuer runs those tasks again; always 0 on a queue in memory
 */
public record QueueStats(
    long submitted,
    long rejected,
    int ready,
    int running,
    int waiting,
    long succeeded,
    long failed,
    long cancelled,
    long handedBack,
    long unwritten) {

  /**
   * Creates a snapshot with no unwritten outcome.
   *
   * @param submitted tasks accepted since the queue was built
   * @param rejected submissions refused
   * @param ready tasks waiting in the ready queue
   * @param running tasks with an attempt in flight
   * @param waiting tasks waiting for their not-before time or a retry backoff
   * @param succeeded tasks that succeeded
   * @param failed tasks that failed
   * @param cancelled tasks that were cancelled
   * @param handedBack tasks handed back to their durable store
   */
  public QueueStats(
      long submitted,
      long rejected,
      int ready,
      int running,
      int waiting,
      long succeeded,
      long failed,
      long cancelled,
      long handedBack) {
    this(submitted, rejected, ready, running, waiting, succeeded, failed, cancelled, handedBack, 0);
  }

  /**
   * Creates a snapshot with nothing handed back, as a queue in memory has.
   *
   * @param submitted tasks accepted since the queue was built
   * @param rejected submissions refused
   * @param ready tasks waiting in the ready queue
   * @param running tasks with an attempt in flight
   * @param waiting tasks waiting for their not-before time or a retry backoff
   * @param succeeded tasks that succeeded
   * @param failed tasks that failed
   * @param cancelled tasks that were cancelled
   */
  public QueueStats(
      long submitted,
      long rejected,
      int ready,
      int running,
      int waiting,
      long succeeded,
      long failed,
      long cancelled) {
    this(submitted, rejected, ready, running, waiting, succeeded, failed, cancelled, 0, 0);
  }

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
