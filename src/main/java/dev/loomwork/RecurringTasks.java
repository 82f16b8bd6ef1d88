package dev.loomwork;

import java.util.List;

/**
 * The recurring tasks of a queue, by name: {@link WorkQueue#recurring()}. On a durable queue every
 * method acts on the store, so a pause or a trigger in one process holds for every process; a
 * database failure then throws an {@link IllegalStateException} whose cause is the {@code
 * SQLException}. Thread-safe. Implemented by loomwork only.
 */
public interface RecurringTasks {

  /**
   * Returns the status of every recurring task declared on this queue, in declaration order.
   *
   * @return the statuses
   * @throws IllegalStateException if a durable queue's store could not be read
   */
  List<RecurringStatus> list();

  /**
   * Returns one recurring task's status.
   *
   * @param name its name
   * @return its status
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if no recurring task of that name is declared on this queue
   * @throws IllegalStateException if a durable queue's store could not be read
   */
  RecurringStatus status(String name);

  /**
   * Pauses a recurring task: its ticks stop until it is resumed; the ticks that fall due meanwhile
   * are skipped, not missed.
   *
   * @param name its name
   * @return true if it was running, false if it was paused already
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if no recurring task of that name is declared on this queue
   * @throws IllegalStateException if a durable queue's store could not be written
   */
  boolean pause(String name);

  /**
   * Resumes a paused recurring task from its next tick after now.
   *
   * @param name its name
   * @return true if it was paused, false if it was running already
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if no recurring task of that name is declared on this queue
   * @throws IllegalStateException if a durable queue's store could not be written
   */
  boolean resume(String name);

  /**
   * Runs a tick now, paused or not, with now as its scheduled time; its schedule is unchanged. On a
   * queue that has not started, the tick runs when it starts.
   *
   * @param name its name
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if no recurring task of that name is declared on this queue
   * @throws IllegalStateException if a durable queue's store could not be written
   */
  void triggerNow(String name);
}
