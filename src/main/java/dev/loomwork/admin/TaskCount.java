package dev.loomwork.admin;

import dev.loomwork.TaskState;
import java.util.Objects;

/**
 * The number of tasks of one queue, handler and state: one cell of {@link
 * QueueAdmin#counts(TaskFilter)}.
 *
 * @param queue the queue
 * @param handler the handler's name; {@code ""} for a memory queue's closures, which have none
 * @param state the state ({@code READY} due, {@code WAITING} not yet due)
 * @param count at least 1 (cells with no task are left out)
 */
public record TaskCount(String queue, String handler, TaskState state, long count) {

  /** Checks the components. */
  public TaskCount {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(handler, "handler");
    Objects.requireNonNull(state, "state");
    if (count < 0) {
      throw new IllegalArgumentException("count: " + count + " (expected: >= 0)");
    }
  }
}
