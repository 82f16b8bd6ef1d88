package dev.loomwork.internal;

import dev.loomwork.RecurringTasks;

/** The recurring tasks of one queue, in memory ({@link Recurrences}) or in a store ({@link DurableRecurrences}). */
public interface RecurringRunner extends RecurringTasks {
  /** Starts ticking, once the queue starts. Idempotent. */
  void begin();

  /** Stops ticking, for good, as the queue shuts down. Idempotent. */
  void stop();
}
