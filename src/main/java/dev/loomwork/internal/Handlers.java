package dev.loomwork.internal;

import dev.loomwork.Job;
import dev.loomwork.TaskCodecException;
import dev.loomwork.TaskHandler;
import dev.loomwork.TaskType;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The handlers a queue registered, by name. At acceptance a typed task's body is bound here: decode
 * the payload with the registered type's codec (the task may have been encoded by another type of
 * the same name, in another process), then call the handler. Immutable.
 */
public final class Handlers {
  /**
   * One registration from the builder.
   *
   * @param type the task type
   * @param handler its handler
   */
  public record Registration(TaskType<?> type, TaskHandler<?> handler) {}

  private final Map<String, Registration> byName;

  private Handlers(Map<String, Registration> byName) {
    this.byName = byName;
  }

  /**
   * Checks and indexes the registrations of queue {@code queue}.
   *
   * @throws IllegalArgumentException if two registrations share a handler name
   */
  static Handlers of(String queue, List<Registration> registrations) {
    Map<String, Registration> byName = new HashMap<>();
    for (Registration r : registrations) {
      String name = r.type().handler();
      if (byName.putIfAbsent(name, r) != null) {
        throw new IllegalArgumentException(
            "handler: '" + name + "' is registered twice on queue '" + queue + "' (expected: one"
                + " handler per name)");
      }
    }
    return new Handlers(Map.copyOf(byName));
  }

  /** The names of the registered handlers. */
  java.util.Set<String> names() {
    return byName.keySet();
  }

  /** The registered handlers' names, each with the payload version of its type. */
  Map<String, Integer> versions() {
    Map<String, Integer> versions = new HashMap<>();
    byName.forEach((name, r) -> versions.put(name, r.type().version()));
    return Map.copyOf(versions);
  }

  /** The type registered under {@code name}, or null. */
  @Nullable TaskType<?> type(String name) {
    Registration r = byName.get(name);
    return r == null ? null : r.type();
  }

  /** Whether a handler is registered under {@code name}. */
  boolean has(String name) {
    return byName.containsKey(name);
  }

  /**
   * Binds a typed task's body to the handler registered under its name.
   *
   * @throws IllegalArgumentException if the queue has no handler of that name
   */
  @SuppressWarnings("unchecked")
  <T extends @Nullable Object> void bind(TaskCore<T> t, String queue) {
    Typed typed = Objects.requireNonNull(t.typed);
    String name = typed.handler;
    Registration r = byName.get(name);
    if (r == null) {
      throw new IllegalArgumentException(
          "queue '" + queue + "' has no handler for '" + name + "' (register one with"
              + " WorkQueue.Builder.handle)");
    }
    t.job = (Job<T>) job((TaskType<Object>) r.type(), (TaskHandler<Object>) r.handler(), name,
        Objects.requireNonNull(typed.json));
  }

  private static <P extends @Nullable Object> Job<@Nullable Void> job(
      TaskType<P> type, TaskHandler<P> handler, String name, String json) {
    return ctx -> {
      P payload;
      try {
        payload = type.codec().decode(json);
      } catch (Exception e) {
        throw new TaskCodecException(
            "handler '" + name + "': could not decode the payload of task '" + ctx.taskName() + "'", e);
      }
      handler.handle(ctx, payload);
      return null;
    };
  }
}
