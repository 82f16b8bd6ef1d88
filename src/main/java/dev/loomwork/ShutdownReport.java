package dev.loomwork;

import java.time.Duration;
import java.util.List;

/**
 * What a shutdown with a deadline left behind.
 *
 * <p>{@code succeeded} and {@code failed} count every task that completed since the queue was built.
 * {@code cancelled} lists the tasks the shutdown cancelled: those still pending or waiting out a
 * backoff when the deadline passed (with their attempts, last error and next attempt time), and those
 * whose running attempt ended when interrupted. {@code abandoned} lists the tasks whose attempt
 * ignored the interruption and was still running when the shutdown returned: Java cannot stop a
 * thread, so loomwork reports them instead of hanging. Such a task reaches its terminal state
 * (cancelled) when its body finally returns.
 *
 * @param queue the queue's name
 * @param succeeded tasks that succeeded
 * @param failed tasks that failed
 * @param cancelled tasks the shutdown cancelled, in the order it cancelled them
 * @param abandoned tasks still running when the shutdown gave up on them
 * @param elapsed how long the shutdown took
 */
public record ShutdownReport(
    String queue,
    long succeeded,
    long failed,
    List<TaskSnapshot> cancelled,
    List<TaskSnapshot> abandoned,
    Duration elapsed) {

  /** Makes the lists immutable. */
  public ShutdownReport {
    cancelled = List.copyOf(cancelled);
    abandoned = List.copyOf(abandoned);
  }

  /**
   * Tells whether the queue drained completely: nothing was cancelled or abandoned.
   *
   * @return true if every accepted task ran to completion
   */
  public boolean drained() {
    return cancelled.isEmpty() && abandoned.isEmpty();
  }
}
