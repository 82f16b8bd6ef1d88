package dev.loomwork.internal;

import dev.loomwork.TaskContext;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/** The {@link TaskContext} of one attempt, bound with {@link #CURRENT} around the attempt. */
public final class AttemptContext implements TaskContext {
  static final ScopedValue<AttemptContext> CURRENT = ScopedValue.newInstance();

  private final QueueEngine queue;
  private final TaskCore<?> task;
  private final Attempt attempt;

  AttemptContext(QueueEngine queue, TaskCore<?> task, Attempt attempt) {
    this.queue = queue;
    this.task = task;
    this.attempt = attempt;
  }

  /** Tells whether the current thread runs an attempt of {@code queue}. */
  static boolean isInside(QueueEngine queue) {
    return CURRENT.isBound() && CURRENT.get().queue == queue;
  }

  /**
   * Returns the bound context.
   *
   * @return the context of the attempt the current thread runs in
   * @throws IllegalStateException if there is none
   */
  public static TaskContext current() {
    if (!CURRENT.isBound()) {
      throw new IllegalStateException(
          "TaskContext.current(): the current thread ("
              + Thread.currentThread()
              + ") is not running a loomwork task attempt");
    }
    return CURRENT.get();
  }

  /**
   * Tells whether a context is bound.
   *
   * @return true inside an attempt
   */
  public static boolean isBound() {
    return CURRENT.isBound();
  }

  @Override
  public String queueName() {
    return queue.name();
  }

  @Override
  public String taskId() {
    return task.id();
  }

  @Override
  public String taskName() {
    return task.name();
  }

  @Override
  public int attempt() {
    return attempt.number;
  }

  @Override
  public @Nullable Instant deadline() {
    return task.deadline();
  }

  @Override
  public @Nullable Instant scheduledAt() {
    return task.scheduledAt;
  }

  @Override
  public boolean isCancelled() {
    return attempt.reason() != null;
  }

  @Override
  public String toString() {
    return "TaskContext[queue=" + queue.name() + ", task=" + task.name() + ", attempt=" + attempt.number + "]";
  }
}
