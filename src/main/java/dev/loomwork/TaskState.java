package dev.loomwork;

/**
 * Where a task is in its life. A task moves forward only: {@code NEW}, then any of {@code WAITING},
 * {@code READY} and {@code RUNNING} (possibly several times, once per attempt), then exactly one of the
 * terminal states {@code SUCCEEDED}, {@code FAILED}, {@code CANCELLED}.
 */
public enum TaskState {
  /** Being configured; not yet enqueued. */
  NEW,
  /** Accepted and waiting for a time: its not-before time or the end of a retry backoff. */
  WAITING,
  /** Accepted and waiting in the ready queue for a free slot. */
  READY,
  /** An attempt is in flight. */
  RUNNING,
  /** Terminal: an attempt returned normally. */
  SUCCEEDED,
  /** Terminal: the last attempt failed and no retry is left, or the failure was not retryable. */
  FAILED,
  /** Terminal: cancelled by {@link Task#cancel()}, by a shutdown, or by interrupting the queue. */
  CANCELLED;

  /**
   * Tells whether this state is terminal.
   *
   * @return true for {@code SUCCEEDED}, {@code FAILED} and {@code CANCELLED}
   */
  public boolean isTerminal() {
    return ordinal() >= SUCCEEDED.ordinal();
  }
}
