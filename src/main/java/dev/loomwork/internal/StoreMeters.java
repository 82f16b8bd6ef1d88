package dev.loomwork.internal;

/**
 * What a durable queue's store does, for its meters. The engine calls these on its store threads;
 * {@link #NONE} records nothing, and {@link StoreMetrics} (only loaded with a Micrometer registry)
 * records {@code loomwork.store.*} meters.
 */
interface StoreMeters {
  StoreMeters NONE = new StoreMeters() {};

  /** A claim statement ran for {@code nanos} and claimed {@code tasks}. */
  default void claimed(int tasks, long nanos) {}

  /** A flush wrote outcomes in {@code nanos}: how many of each ending, and how many were fenced out. */
  default void flushed(int succeeded, int failed, int retried, int cancelled, int fenced, long nanos) {}

  /** Tasks released to the store. */
  default void released(int tasks) {}

  /** The rescuer returned {@code tasks} tasks of lost workers, tasks of queue {@code queue}. */
  default void rescued(String queue, int tasks) {}

  /** This worker lost its lease. */
  default void leaseLost() {}

  /** An operation of the store failed ({@code operation}: the loop that tried it). */
  default void failed(String operation) {}

  /** A wake-up arrived on the LISTEN connection. */
  default void notified() {}

  /** The store's counts of this queue's tasks, by state. */
  default void counts(DurableBackend.Counts byState) {}

  /** The queue's due ready tasks that no live worker claims, by handler (absent when none). */
  default void unclaimable(java.util.Map<String, Long> byHandler) {}
}
