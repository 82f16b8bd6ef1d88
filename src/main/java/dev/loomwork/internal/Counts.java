package dev.loomwork.internal;

import dev.loomwork.TaskState;
import dev.loomwork.WorkQueueListener.AttemptOutcome;

/**
 * The queue's running totals, which {@code stats()} and the metrics read. Guarded by the queue's
 * lock ({@link QueueState}); the three live counts (ready, running, waiting) are not kept here but
 * read from the store and the running list.
 */
final class Counts {
  /** What the metrics can read; see {@link QueueState#count}. */
  enum Count {
    SUBMITTED,
    REJECTED,
    SUCCEEDED,
    FAILED,
    CANCELLED,
    ATTEMPTS_SUCCEEDED,
    ATTEMPTS_FAILED,
    ATTEMPTS_TIMED_OUT,
    ATTEMPTS_CANCELLED,
    RETRIES,
    /** Tasks that left this process with no end here, handed back to their store. */
    HANDED_BACK,
    READY,
    RUNNING,
    WAITING
  }

  private final long[] totals = new long[Count.HANDED_BACK.ordinal() + 1];

  void add(Count c) {
    totals[c.ordinal()]++;
  }

  void attemptEnded(AttemptOutcome outcome) {
    add(
        switch (outcome) {
          case SUCCEEDED -> Count.ATTEMPTS_SUCCEEDED;
          case FAILED -> Count.ATTEMPTS_FAILED;
          case TIMED_OUT -> Count.ATTEMPTS_TIMED_OUT;
          case CANCELLED -> Count.ATTEMPTS_CANCELLED;
        });
  }

  void ended(TaskState state) {
    add(
        switch (state) {
          case SUCCEEDED -> Count.SUCCEEDED;
          case FAILED -> Count.FAILED;
          case CANCELLED -> Count.CANCELLED;
          default -> throw new AssertionError(state);
        });
  }

  /** A total; not one of the live counts. */
  long get(Count c) {
    return totals[c.ordinal()];
  }
}
