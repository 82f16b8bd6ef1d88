package dev.loomwork.admin;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One page of tasks.
 *
 * @param tasks the tasks, in the page's order; at most the page's size
 * @param next the cursor of the page after this one ({@link PageRequest#after(String)}), or null if
 *     this page is the last. Opaque: pass it back unchanged
 */
public record TaskPage(List<TaskSummary> tasks, @Nullable String next) {

  /** Copies the list. */
  public TaskPage {
    tasks = List.copyOf(tasks);
  }

  /**
   * Tells whether another page follows.
   *
   * @return {@code next() != null}
   */
  public boolean hasNext() {
    return next != null;
  }
}
