package dev.loomwork.admin;

import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * The admin of a durable store ({@code PostgresStore.admin()}): reads and changes the tasks of
 * every queue in the store, whatever process runs them, and sees the live workers. Thread-safe; each
 * call is one short transaction of its own (a bulk retry, several), on a connection of the store's
 * data source, and never holds one between calls.
 *
 * <p>Lists are keyset pages over an index of the task table by queue, state and creation time, so
 * a page costs about the same on a table of millions of rows as on an empty one. A filter on the
 * handler or the error text narrows the rows read along that index; a rare handler in a large
 * queue, or a text that few errors contain, reads more. {@link #queues()} and {@link
 * #counts(TaskFilter)} read every row they count: call them on a timer, not in a loop.
 */
public interface StoreAdmin extends QueueAdmin {

  /**
   * {@inheritDoc} A durable id is unique in the store; a task of another queue is not returned.
   *
   * @throws IllegalArgumentException if {@code id} is not a decimal task id
   */
  @Override
  Optional<TaskDetail> task(String queue, String id) throws SQLException;

  /**
   * One task in full: its row, its payload and every attempt the store recorded.
   *
   * @param id the task's id
   * @return the task, or empty if there is no such task (never enqueued, deleted, or pruned)
   * @throws SQLException if the database refused
   */
  Optional<TaskDetail> task(long id) throws SQLException;

  /**
   * Runs a failed or cancelled task again: it becomes ready and due now, keeps its attempts and
   * their history, and is allowed one more attempt if it had none left. Its queue's workers are
   * woken. A task with a unique key stays as it is while another task of its queue with that key is
   * ready or running.
   *
   * @param id the task's id
   * @return true if the task was failed or cancelled and is ready now; false otherwise (no such
   *     task, or it had not ended, or it succeeded, or its unique key is taken)
   * @throws SQLException if the database refused
   */
  boolean retry(long id) throws SQLException;

  /**
   * Runs again every failed or cancelled task that {@code filter} matches, as {@link #retry(long)}
   * does one, in batches of at most {@value #RETRY_BATCH} tasks, each batch its own transaction: a
   * failure part-way leaves the batches before it done. Tasks in other states are left alone,
   * whatever the filter's states say. Blocks while it works, as every call here
   * does; from a coroutine, call it in {@code withContext(Dispatchers.IO)}.
   *
   * @param filter which tasks
   * @return how many tasks it made ready
   * @throws SQLException if the database refused; the batches before were done
   */
  long retryAll(TaskFilter filter) throws SQLException;

  /** The most tasks one batch of {@link #retryAll(TaskFilter)} retries. */
  int RETRY_BATCH = 1_000;

  /**
   * Cancels a task that has not ended: a waiting or ready one ends cancelled at once; a running one
   * is cut by its worker within about a third of the lease, and ends cancelled.
   *
   * @param id the task's id
   * @return true if the task was waiting, ready or running; false if it had ended or does not exist
   * @throws SQLException if the database refused
   */
  boolean cancel(long id) throws SQLException;

  /**
   * Deletes a task that is not running, with its attempts. A running task is not deleted: cancel it
   * first, and delete it once it has ended.
   *
   * @param id the task's id
   * @return true if it was deleted; false if it runs or does not exist
   * @throws SQLException if the database refused
   */
  boolean delete(long id) throws SQLException;

  /**
   * Pauses a queue for every process on the store: from the next claim on (within the poll
   * interval, a second by default), no worker of the queue claims a task; the attempts running now
   * run to their end, and tasks may still be enqueued. The pause is stored, so it outlives the
   * processes, until {@link #resume(String)}. A queue need not exist to be paused.
   *
   * @param queue the queue's name
   * @return true if it was not paused before
   * @throws IllegalArgumentException if {@code queue} is blank
   * @throws SQLException if the database refused
   */
  boolean pause(String queue) throws SQLException;

  /**
   * Resumes a paused queue, and wakes its workers.
   *
   * @param queue the queue's name
   * @return true if it was paused
   * @throws IllegalArgumentException if {@code queue} is blank
   * @throws SQLException if the database refused
   */
  boolean resume(String queue) throws SQLException;

  /**
   * The paused queues, sorted by name.
   *
   * @return their names
   * @throws SQLException if the database refused
   */
  List<String> pausedQueues() throws SQLException;

  /**
   * The workers whose lease has not expired, by queue and id.
   *
   * @return the live workers
   * @throws SQLException if the database refused
   */
  List<WorkerInfo> workers() throws SQLException;
}
