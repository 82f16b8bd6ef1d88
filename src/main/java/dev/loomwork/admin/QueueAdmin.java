package dev.loomwork.admin;

import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * What an operator reads about queues, answered alike for queues in memory ({@link MemoryAdmin})
 * and in a durable store ({@link StoreAdmin}), so that one console shows both. Implementations are
 * thread-safe.
 *
 * <p>A {@link MemoryAdmin} never throws {@link SQLException}; it declares none, so a caller that
 * holds one as a {@code MemoryAdmin} need not catch it.
 */
public interface QueueAdmin {

  /**
   * Every queue, at a glance, sorted by name.
   *
   * @return one overview per queue
   * @throws SQLException if a store's database refused
   */
  List<QueueOverview> queues() throws SQLException;

  /**
   * The number of tasks by queue, handler and state, of the tasks {@code filter} matches; cells
   * with no task are left out. Sorted by queue, handler, then state (in {@link
   * dev.loomwork.TaskState}'s order).
   *
   * @param filter which tasks
   * @return the counts
   * @throws SQLException if a store's database refused
   */
  List<TaskCount> counts(TaskFilter filter) throws SQLException;

  /**
   * One page of the tasks {@code filter} matches, in the page's order (by the time the task was
   * created, then by id).
   *
   * @param filter which tasks
   * @param page which page
   * @return the page, with the cursor of the next one
   * @throws IllegalArgumentException if {@code page.after()} is not a cursor this admin made
   * @throws SQLException if a store's database refused
   */
  TaskPage list(TaskFilter filter, PageRequest page) throws SQLException;

  /**
   * One task in full. Memory ids are unique in their queue only, so a task is named by both.
   *
   * @param queue the task's queue, as {@link TaskSummary#queue()} gives it
   * @param id the task's id, as {@link TaskSummary#id()} gives it
   * @return the task, or empty if there is no such task in that queue (or, in memory, it has ended)
   * @throws SQLException if a store's database refused
   */
  Optional<TaskDetail> task(String queue, String id) throws SQLException;
}
