package dev.loomwork.internal;

import dev.loomwork.RecurringStatus;
import dev.loomwork.RecurringTask;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import org.jspecify.annotations.Nullable;

/**
 * The store's side of durable recurring tasks: the schedule table. Implemented by the PostgreSQL
 * store ({@code PostgresSchedules}), which installs the passage from a store object at class
 * initialisation, as {@link Access} does for tasks. Not exported.
 */
public interface ScheduleStore {

  /**
   * What one firing did to one recurring task.
   *
   * @param name the recurring task
   * @param run the ticks whose tasks were inserted (or found inserted), oldest first
   * @param skipped due ticks its policy dropped
   * @param missed due ticks older than its tolerance
   * @param last the latest due tick, or null
   * @param lateTolerance its tolerance, for the WARN of a late tick
   */
  record Fired(
      String name, List<Instant> run, long skipped, long missed, @Nullable Instant last,
      java.time.Duration lateTolerance) {}

  /**
   * Writes a declaration of this process: inserts it, or replaces a different stored one. A changed
   * schedule continues from its first tick after the later of now and the last tick handled, unless
   * a tick of the old one is due and not yet handled: that one still runs.
   */
  void declare(String queue, RecurringTask<?> task, Instant now) throws SQLException;

  /**
   * In one transaction: locks up to {@code limit} due rows of the queue that no other process holds,
   * inserts each due tick's task (and each trigger's), advances the rows, and commits.
   *
   * @param maxAttempts the attempts of a handler's tasks
   * @return what was done, one entry per row fired
   */
  List<Fired> fire(String queue, Instant now, int limit, ToIntFunction<String> maxAttempts)
      throws SQLException;

  /** The earliest next tick or pending trigger of the queue's unpaused rows, or null. */
  @Nullable Instant earliest(String queue) throws SQLException;

  /** Every row of the queue, by name. */
  List<RecurringStatus> list(String queue) throws SQLException;

  /** One row, or null. */
  @Nullable RecurringStatus find(String queue, String name) throws SQLException;

  /** Pauses a row; false if it was paused already or does not exist. */
  boolean pause(String queue, String name) throws SQLException;

  /** Resumes a paused row from its first tick after now; false if not paused or absent. */
  boolean resume(String queue, String name, Instant now) throws SQLException;

  /** Asks for a tick at {@code now}; false if the row does not exist. */
  boolean trigger(String queue, String name, Instant now) throws SQLException;

  /** The unique key of a tick's task. */
  static String tickKey(String name, Instant tick, boolean trigger) {
    return (trigger ? TRIGGER_PREFIX : TICK_PREFIX) + name + '@' + tick;
  }

  String TICK_PREFIX = "loomwork.schedule:";
  String TRIGGER_PREFIX = "loomwork.trigger:";

  /** The scheduled time a tick's unique key holds, or null for a key that is no tick's. */
  static @Nullable Instant scheduledAt(@Nullable String uniqueKey) {
    if (uniqueKey == null
        || !(uniqueKey.startsWith(TICK_PREFIX) || uniqueKey.startsWith(TRIGGER_PREFIX))) {
      return null;
    }
    int at = uniqueKey.lastIndexOf('@');
    try {
      return at < 0 ? null : Instant.parse(uniqueKey.substring(at + 1));
    } catch (java.time.DateTimeException e) {
      return null;
    }
  }

  /** The passage from a store object to its schedule table. */
  final class Passage {
    private static volatile @Nullable Function<Object, ScheduleStore> stores;

    private Passage() {}

    /** Installed by {@code PostgresStore}. */
    public static void install(Function<Object, ScheduleStore> f) {
      stores = f;
    }

    /** The schedule table of a store object. */
    public static ScheduleStore of(Object store) {
      return Objects.requireNonNull(stores, "no store class is loaded").apply(store);
    }
  }
}
