package dev.loomwork.internal;

import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The module's passages between its packages for what is not public API: {@code Task} hands its
 * state to the engine and to the PostgreSQL store, {@code WorkQueue} its engine to the Kotlin API,
 * and the store hands its I/O to the engine. Each side installs its half in a static initializer,
 * which has run by the time anyone holds one of its objects. Not exported.
 */
public final class Access {
  /** What {@code Task} gives the engine. */
  public interface Tasks {
    TaskCore<?> core(Task<?> task);

    /** A typed task by handler name and encoded payload, keeping {@code id} as its id. */
    Task<?> restored(String handler, String payloadJson, String id);
  }

  /** What {@code WorkQueue} gives the Kotlin API ({@code dev.loomwork.kotlin}): its engine. */
  public interface Queues {
    QueueEngine engine(WorkQueue queue);
  }

  private static volatile @Nullable Tasks tasks;
  private static volatile @Nullable Queues queues;
  private static volatile java.util.function.@Nullable Function<Object, DurableBackend> stores;

  private Access() {}

  /** Installed by {@code Task}. */
  public static void tasks(Tasks t) {
    tasks = t;
  }

  /** Installed by {@code WorkQueue}. */
  public static void queues(Queues q) {
    queues = q;
  }

  /** Installed by {@code PostgresStore}. */
  public static void stores(java.util.function.Function<Object, DurableBackend> f) {
    stores = f;
  }

  public static TaskCore<?> core(Task<?> task) {
    return tasks().core(task);
  }

  static Task<?> restored(String handler, String payloadJson, String id) {
    return tasks().restored(handler, payloadJson, id);
  }

  /** The I/O of a store object ({@code PostgresStore}). */
  public static DurableBackend backend(Object store) {
    Objects.requireNonNull(store, "store");
    return Objects.requireNonNull(stores, "no store class is loaded").apply(store);
  }

  /** The engine of {@code queue}, for the Kotlin API. */
  public static QueueEngine engine(WorkQueue queue) {
    Objects.requireNonNull(queue, "queue");
    // Whoever holds a WorkQueue has run its class initializer, which installed the passage.
    return Objects.requireNonNull(queues, "WorkQueue is not initialized").engine(queue);
  }

  private static Tasks tasks() {
    Tasks t = tasks;
    if (t == null) {
      try {
        Class.forName(Task.class.getName(), true, Task.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new AssertionError(e);
      }
      t = Objects.requireNonNull(tasks);
    }
    return t;
  }
}
