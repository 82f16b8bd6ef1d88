package dev.loomwork;

/**
 * Where a queue is in its life. It only moves forward: {@code NEW → ACCEPTING → DRAINING → TERMINATED},
 * or through {@code STOPPED} when a shutdown cancels; a shutdown of a queue never started skips
 * {@code ACCEPTING}. Read it with {@link WorkQueue#health()}; the metrics publish it as the gauge
 * {@code loomwork.queue.state}, one per state, 1 for the current one and 0 for the others.
 */
public enum QueueLifecycle {
  /** Built, not started: tasks are accepted and wait until {@code start()} or {@code run()}. */
  NEW,

  /** Started and accepting tasks. */
  ACCEPTING,

  /** A draining shutdown began: no new task is accepted; every accepted task runs to its end. */
  DRAINING,

  /**
   * A cancelling shutdown began ({@code shutdownNow()}, or a drain whose deadline passed): no new
   * task is accepted, pending tasks were cancelled, running attempts were interrupted and are ending.
   */
  STOPPED,

  /** Shut down, every task ended, every thread of the queue ended (abandoned attempts aside). */
  TERMINATED;

  /**
   * Tells whether a queue in this state accepts new tasks.
   *
   * @return true for {@link #NEW} and {@link #ACCEPTING}
   */
  public boolean accepting() {
    return this == NEW || this == ACCEPTING;
  }
}
