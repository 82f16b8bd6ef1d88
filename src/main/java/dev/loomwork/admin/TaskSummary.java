package dev.loomwork.admin;

import dev.loomwork.TaskState;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One task in a list: enough for a row of a table.
 *
 * @param queue its queue
 * @param id its id ({@code TaskContext.taskId()}): a durable task's id in its store, in decimal; a
 *     memory task's queue instance and acceptance number ({@code INSTANCE-NUMBER}), or its id from a
 *     re-queued report
 * @param name its name, or null (durable tasks without one)
 * @param handler a typed task's handler name, or null for a closure
 * @param state its state now: {@code READY} due, {@code WAITING} not yet due
 * @param attempt the attempts it started, the current one included
 * @param maxAttempts the attempts it may take; 0 if not known (a memory task whose retry policy
 *     decides per failure)
 * @param createdAt when it was enqueued, by the store's clock; null for a memory task
 * @param runAt when it is (or was) due: its not-before time, or its next retry; null for a memory
 *     task that is not waiting
 * @param endedAt when it ended, or null if it has not
 * @param errorType the class name of its last error, or null if no attempt failed
 * @param errorMessage the message of its last error, or null
 */
public record TaskSummary(
    String queue,
    String id,
    @Nullable String name,
    @Nullable String handler,
    TaskState state,
    int attempt,
    int maxAttempts,
    @Nullable Instant createdAt,
    @Nullable Instant runAt,
    @Nullable Instant endedAt,
    @Nullable String errorType,
    @Nullable String errorMessage) {

  /** Checks that no required component is null. */
  public TaskSummary {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(state, "state");
  }
}
