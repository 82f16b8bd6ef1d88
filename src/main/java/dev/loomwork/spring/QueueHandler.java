package dev.loomwork.spring;

import dev.loomwork.TaskHandler;
import dev.loomwork.TaskType;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A handler of a queue, declared as a bean: the auto-configuration registers it on the queue named
 * {@code queue} ({@code WorkQueue.Builder.handle}), creating that queue if no property declares it.
 *
 * <pre>{@code
 * @Bean
 * QueueHandler<Welcome> welcome(Mailer mailer) {
 *   return QueueHandler.of("email", WELCOME, (ctx, welcome) -> mailer.send(welcome));
 * }
 * }</pre>
 *
 * @param queue the queue's name
 * @param type the task type
 * @param handler its body
 * @param <P> the payload type
 */
public record QueueHandler<P extends @Nullable Object>(
    String queue, TaskType<P> type, TaskHandler<? super P> handler) {

  /**
   * Checks the arguments.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code queue} is blank
   */
  public QueueHandler {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(handler, "handler");
    if (queue.isBlank()) {
      throw new IllegalArgumentException("queue: '" + queue + "' (expected: not blank)");
    }
  }

  /**
   * A handler of {@code type}'s tasks on queue {@code queue}.
   *
   * @param queue the queue's name
   * @param type the task type
   * @param handler its body
   * @param <P> the payload type
   * @return the declaration
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code queue} is blank
   */
  public static <P extends @Nullable Object> QueueHandler<P> of(
      String queue, TaskType<P> type, TaskHandler<? super P> handler) {
    return new QueueHandler<>(queue, type, handler);
  }
}
