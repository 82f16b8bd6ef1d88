package dev.loomwork.console;

import dev.loomwork.TaskState;
import dev.loomwork.admin.TaskFilter;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The request parameters the pages and actions share, read strictly: a value that is not what it
 * should be is a {@link BadRequest} whose message names the parameter and the expectation. Stateless.
 */
final class Params {
  private Params() {}

  /** The task filter of a page's query. */
  static TaskFilter filter(Request r) {
    return filter(r.query());
  }

  /**
   * The task filter of a query or a form: {@code queue}, {@code state} (repeated), {@code handler},
   * {@code error}.
   */
  static TaskFilter filter(Map<String, List<String>> values) {
    try {
      TaskFilter f = TaskFilter.all().withQueue(first(values, "queue")).withHandler(first(values, "handler"))
          .withErrorContains(first(values, "error"));
      List<String> states = values.getOrDefault("state", List.of());
      EnumSet<TaskState> chosen = EnumSet.noneOf(TaskState.class);
      for (String s : states) {
        if (!s.isBlank()) {
          try {
            chosen.add(TaskState.valueOf(s.strip().toUpperCase(Locale.ROOT)));
          } catch (IllegalArgumentException e) {
            throw new BadRequest("state: " + s + " (expected: one of " + EnumSet.complementOf(EnumSet.of(TaskState.NEW)) + ")");
          }
        }
      }
      return chosen.isEmpty() ? f : f.withStates(chosen.toArray(TaskState[]::new));
    } catch (BadRequest e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new BadRequest(e.getMessage());
    }
  }

  /** Adds the filter's fields as name, value pairs, for a form that repeats it. */
  static void filterFields(TaskFilter f, List<String> fields) {
    if (f.queue() != null) {
      fields.addAll(List.of("queue", f.queue()));
    }
    for (TaskState s : f.states()) {
      fields.addAll(List.of("state", s.name()));
    }
    if (f.handler() != null) {
      fields.addAll(List.of("handler", f.handler()));
    }
    if (f.errorContains() != null) {
      fields.addAll(List.of("error", f.errorContains()));
    }
  }

  private static @Nullable String first(Map<String, List<String>> values, String name) {
    List<String> all = values.get(name);
    return all == null || all.isEmpty() || all.getFirst().isBlank() ? null : all.getFirst().strip();
  }

  /** The admin a request names ({@code src}), or null if it names none. */
  static @Nullable Integer source(Request r, int admins) {
    String src = r.param("src");
    return src == null ? null : intParam(src, 0, 0, admins - 1, "src");
  }

  /** A whole number from {@code min} to {@code max}, or {@code otherwise} if the parameter is absent. */
  static int intParam(@Nullable String value, int otherwise, int min, int max, String name) {
    if (value == null) {
      return otherwise;
    }
    try {
      int n = Integer.parseInt(value);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException notANumber) {
      // the message below
    }
    throw new BadRequest(name + ": " + value + " (expected: " + min + " to " + max + ")");
  }
}
