package dev.loomwork.internal;

/**
 * Why an attempt was cut: its attempt timeout, its task's deadline, or a cancel (of the task, or of
 * every task by a cutting shutdown); {@code DONE} marks an attempt whose body returned first. The
 * first of these to be set on an {@link Attempt} wins its race, and {@link Verdict} judges by it.
 *
 * <p>A file of its own, so that {@code Attempt} and {@code Verdict} need not import each other.
 */
enum Cut {
  TIMEOUT,
  DEADLINE,
  CANCEL,
  DONE
}
