package dev.loomwork.internal;

import dev.loomwork.MissedTicks;
import dev.loomwork.RecurringStatus;
import dev.loomwork.RecurringTask;
import java.sql.SQLException;
import java.time.Duration;
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
   * @param due its due ticks and what its policy made of them, or null if only a trigger was due
   * @param trigger the time of a trigger whose task was inserted, or null
   * @param policy its missed-tick policy, for the WARN of missed ticks
   * @param lateTolerance its tolerance, for the WARN of a late tick
   */
  record Fired(
      String name, Ticks.@Nullable Due due, @Nullable Instant trigger, MissedTicks policy,
      Duration lateTolerance) {
    /** How many tasks were inserted (or found inserted): the due ticks that run, and the trigger. */
    public int enqueued() {
      return (due == null ? 0 : due.run().size()) + (trigger == null ? 0 : 1);
    }
  }

  /**
   * Writes a declaration of this process: inserts it, or replaces a different stored one. A changed
   * schedule continues from its first tick after the later of now and the last tick handled, unless
   * a tick of the old one is due and not yet handled: that one still runs.
   */
  void declare(String queue, RecurringTask<?> task, Instant now) throws SQLException;

  /**
   * In one transaction: locks up to {@code limit} due rows of the queue that no other process holds
   * (and, with {@code triggers}, every row with a trigger that none holds), inserts each due tick's
   * task and each trigger's, advances the rows, and commits.
   *
   * @param limit how many due rows at most, triggers aside
   * @param triggers whether to fire the rows with a trigger too
   * @param maxAttempts the attempts of a handler's tasks
   * @return what was done, one entry per row fired; fewer than {@code limit} due rows (triggers
   *     aside) means none was left due that another process did not hold
   */
  List<Fired> fire(
      String queue, Instant now, int limit, boolean triggers, ToIntFunction<String> maxAttempts)
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
