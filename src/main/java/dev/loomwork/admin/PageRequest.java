package dev.loomwork.admin;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Which page of a list to read: its order, its size, and where it starts. Pages are keyset pages,
 * never offsets: a page starts after the last task of the page before it (its {@linkplain
 * TaskPage#next() cursor}), so reading page 100 costs what reading page 1 does, and a task that is
 * added or ends while an operator pages is neither skipped nor shown twice because of it. Immutable.
 *
 * <pre>{@code
 * PageRequest first = PageRequest.newestFirst(50);
 * TaskPage page = admin.list(filter, first);
 * while (page.next() != null) {
 *   page = admin.list(filter, first.after(page.next()));
 * }
 * }</pre>
 *
 * @param order newest or oldest first, by the time the task was created (ties by id)
 * @param size at most this many tasks, from 1 to {@value #MAX_SIZE}
 * @param after the cursor of the page before ({@link TaskPage#next()}), or null for the first page
 */
public record PageRequest(Order order, int size, @Nullable String after) {

  /** The largest page. */
  public static final int MAX_SIZE = 1_000;

  /** The order of a list. */
  public enum Order {
    /** The task created last first. */
    NEWEST_FIRST,
    /** The task created first first. */
    OLDEST_FIRST
  }

  /**
   * Checks the components.
   *
   * @throws IllegalArgumentException if {@code size} is not from 1 to {@value #MAX_SIZE}, or
   *     {@code after} is blank
   */
  public PageRequest {
    Objects.requireNonNull(order, "order");
    if (size < 1 || size > MAX_SIZE) {
      throw new IllegalArgumentException("size: " + size + " (expected: 1 to " + MAX_SIZE + ")");
    }
    if (after != null && after.isBlank()) {
      throw new IllegalArgumentException("after: '" + after + "' (expected: null or a cursor from TaskPage.next())");
    }
  }

  /**
   * The first page, newest task first.
   *
   * @param size from 1 to {@value #MAX_SIZE}
   * @return the request
   * @throws IllegalArgumentException if {@code size} is out of range
   */
  public static PageRequest newestFirst(int size) {
    return new PageRequest(Order.NEWEST_FIRST, size, null);
  }

  /**
   * The first page, oldest task first.
   *
   * @param size from 1 to {@value #MAX_SIZE}
   * @return the request
   * @throws IllegalArgumentException if {@code size} is out of range
   */
  public static PageRequest oldestFirst(int size) {
    return new PageRequest(Order.OLDEST_FIRST, size, null);
  }

  /**
   * The page that starts after a cursor, in the same order and size. A cursor belongs to the
   * admin, order and filter that made it; the admin refuses one it cannot read.
   *
   * @param cursor a page's {@link TaskPage#next()}, or null for the first page
   * @return the request
   * @throws IllegalArgumentException if {@code cursor} is blank
   */
  public PageRequest after(@Nullable String cursor) {
    return new PageRequest(order, size, cursor);
  }
}
