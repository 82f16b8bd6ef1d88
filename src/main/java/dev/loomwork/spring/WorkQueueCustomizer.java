package dev.loomwork.spring;

import dev.loomwork.WorkQueue;

/**
 * Customizes a queue's builder before the auto-configuration builds it, after its properties and
 * handlers are applied: a bean of this type is called for every queue, in the beans' order. For what
 * properties cannot say (listeners, recurring tasks, a clock).
 */
@FunctionalInterface
public interface WorkQueueCustomizer {
  /**
   * Customizes the builder of queue {@code name}.
   *
   * @param name the queue's name
   * @param builder its builder
   */
  void customize(String name, WorkQueue.Builder builder);
}
