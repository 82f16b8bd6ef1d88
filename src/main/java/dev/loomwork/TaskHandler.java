package dev.loomwork;

import org.jspecify.annotations.Nullable;

/**
 * The body of every task of one {@link TaskType}, registered on a queue with {@link
 * WorkQueue.Builder#handle(TaskType, TaskHandler)}.
 *
 * @param <P> the payload type
 */
@FunctionalInterface
public interface TaskHandler<P extends @Nullable Object> {

  /**
   * Runs one attempt of a task.
   *
   * @param context the attempt's context; {@link TaskContext#taskId()} is stable across attempts and
   *     re-queues, the key to make the effect idempotent
   * @param payload the task's payload, decoded for this attempt
   * @throws Exception any failure; {@link NonRetryableException} ends the task at once
   */
  void handle(TaskContext context, P payload) throws Exception;
}
