package dev.loomwork.postgres;

import dev.loomwork.MissedTicks;
import dev.loomwork.RecurringStatus;
import dev.loomwork.RecurringTask;
import dev.loomwork.Schedule;
import dev.loomwork.internal.ScheduleStore;
import dev.loomwork.internal.Ticks;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.ToIntFunction;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The schedule table ({@code loomwork_schedule}, schema version 2): declarations, firing, and the
 * admin operations of durable recurring tasks.
 *
 * <p><b>Exactly once.</b> A due row is fired in one transaction: {@code SELECT ... FOR UPDATE SKIP
 * LOCKED} takes it (another process firing at the same moment skips it and takes other rows), the
 * tick's tasks are inserted with the unique key {@code loomwork.schedule:NAME@TICK}, {@code
 * next_run_at} moves past the tick, and the commit publishes all three together. A process that dies
 * before the commit leaves the row as it was, and the next firing (in any process) does the tick
 * again; one that dies after it has done the tick. The unique key also guards an inserted tick that
 * is still pending against a second insert, should a row ever be moved back.
 *
 * <p><b>Declarations.</b> Every process writes its declarations when its queue starts, under the
 * row's lock: identical ones change nothing; a changed one replaces the row's handler, payload,
 * policy and schedule. A changed schedule continues from its first tick after the later of now and
 * the last tick handled, so no tick of the old one runs again; a tick of the old one already due and
 * not yet fired keeps its place and runs. Firing computes the next tick from the row, never from
 * the firing process's declaration, so processes of an old and a new deploy agree.
 */
final class PostgresSchedules extends PostgresOperations implements ScheduleStore {

  private static final String COLUMNS =
      "name, handler, payload::text, kind, expression, zone, period_ns, missed, missed_bound,"
          + " tolerance_ms, paused, next_run_at, last_run_at, trigger_at";

  private static final String INSERT =
      "INSERT INTO loomwork_schedule (queue, name, handler, payload, kind, expression, zone, period_ns,"
          + " missed, missed_bound, tolerance_ms, next_run_at)"
          + " VALUES (?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ?)"
          + " ON CONFLICT (queue, name) DO NOTHING RETURNING name";

  private static final String LOCK_ONE =
      "SELECT " + COLUMNS + ", payload = ?::jsonb FROM loomwork_schedule"
          + " WHERE queue = ? AND name = ? FOR UPDATE";

  private static final String REPLACE =
      "UPDATE loomwork_schedule SET handler = ?, payload = ?::jsonb, kind = ?, expression = ?,"
          + " zone = ?, period_ns = ?, missed = ?, missed_bound = ?, tolerance_ms = ?,"
          + " next_run_at = ?, declared_at = now(), updated_at = now()"
          + " WHERE queue = ? AND name = ?";

  /**
   * The due rows, by the partial index {@code loomwork_schedule_due}: one index range, read in tick
   * order, so each batch reads only its own rows (a condition on {@code trigger_at} in the same
   * query would make it read and sort every row of the queue, for every batch).
   */
  private static final String DUE =
      "SELECT " + COLUMNS + " FROM loomwork_schedule"
          + " WHERE queue = ? AND NOT paused AND next_run_at <= ?"
          + " ORDER BY next_run_at LIMIT ? FOR UPDATE SKIP LOCKED";

  /** The rows with a trigger (rare, and without an index: once per pass, not per batch). */
  private static final String TRIGGERED =
      "SELECT " + COLUMNS + " FROM loomwork_schedule"
          + " WHERE queue = ? AND trigger_at IS NOT NULL FOR UPDATE SKIP LOCKED";

  /**
   * Writes a fired batch in one statement, one round trip: inserts the ticks' tasks (from arrays:
   * handlers, payloads, names, attempts, unique keys), advances the rows (names, next ticks, last
   * ticks; the rows are found by the primary key, not by a scan of the queue's rows, which would cost
   * every batch the whole table), and, if a task was inserted, wakes the queue's workers: the
   * notification is delivered at the commit, with the rest.
   */
  private static final String WRITE =
      "WITH ticks AS ("
          + "INSERT INTO loomwork_task (queue, handler, payload, name, max_attempts, unique_key)"
          + " SELECT ?, u.h, u.p::jsonb, u.n, u.m, u.k"
          + " FROM unnest(?::text[], ?::text[], ?::text[], ?::int[], ?::text[]) AS u (h, p, n, m, k)"
          + " ON CONFLICT (queue, unique_key)"
          + " WHERE state IN ('ready', 'running') AND unique_key IS NOT NULL DO NOTHING"
          + "), advanced AS ("
          + "UPDATE loomwork_schedule s SET next_run_at = u.nx::timestamptz,"
          + " last_run_at = coalesce(u.l::timestamptz, s.last_run_at), trigger_at = NULL,"
          + " updated_at = now()"
          + " FROM unnest(?::text[], ?::text[], ?::text[]) AS u (name, nx, l)"
          + " WHERE s.queue = ? AND s.name = ANY (?::text[]) AND s.name = u.name"
          + ") SELECT pg_notify(?, ?) WHERE ?";

  PostgresSchedules(DataSource dataSource) {
    super(dataSource);
  }

  // ---- declarations ----

  @Override
  public void declare(String queue, RecurringTask<?> task, Instant now) throws SQLException {
    Schedule schedule = task.schedule();
    inTransaction(
        c -> {
          try (PreparedStatement s = c.prepareStatement(INSERT)) {
            int i = 1;
            s.setString(i++, queue);
            s.setString(i++, task.name());
            i = bindDeclaration(s, i, task);
            setInstant(s, i, schedule.next(now));
            try (ResultSet r = s.executeQuery()) {
              if (r.next()) {
                return null; // a new row
              }
            }
          }
          Row old;
          boolean samePayload;
          try (PreparedStatement s = c.prepareStatement(LOCK_ONE)) {
            s.setString(1, task.payloadJson());
            s.setString(2, queue);
            s.setString(3, task.name());
            try (ResultSet r = s.executeQuery()) {
              if (!r.next()) {
                throw new SQLException("recurring task '" + task.name() + "' vanished while declared");
              }
              old = row(r);
              samePayload = r.getBoolean(15);
            }
          }
          boolean sameSchedule = old.schedule.equals(schedule);
          if (sameSchedule
              && samePayload
              && old.handler.equals(task.type().handler())
              && old.missed.equals(task.missedTicks())
              && old.tolerance.equals(tolerance(task.lateTolerance()))) {
            return null;
          }
          Instant next = old.next;
          if (!old.paused && !sameSchedule) {
            boolean owed = old.next != null && !old.next.isAfter(now);
            Instant from = old.last != null && old.last.isAfter(now) ? old.last : now;
            next = owed ? old.next : schedule.next(from);
          }
          try (PreparedStatement s = c.prepareStatement(REPLACE)) {
            int i = bindDeclaration(s, 1, task);
            setInstant(s, i++, next);
            s.setString(i++, queue);
            s.setString(i, task.name());
            s.executeUpdate();
          }
          return null;
        });
  }

  private static Duration tolerance(Duration d) {
    return Duration.ofMillis(Math.max(1, d.toMillis()));
  }

  /** Binds handler, payload, kind, expression, zone, period_ns, missed, missed_bound, tolerance_ms. */
  private static int bindDeclaration(PreparedStatement s, int i, RecurringTask<?> task) throws SQLException {
    Schedule schedule = task.schedule();
    s.setString(i++, task.type().handler());
    s.setString(i++, task.payloadJson());
    switch (schedule.kind()) {
      case CRON -> {
        s.setString(i++, "cron");
        s.setString(i++, schedule.expression());
        s.setString(i++, String.valueOf(schedule.zone()));
        s.setNull(i++, Types.BIGINT);
      }
      case FIXED_RATE -> {
        s.setString(i++, "fixed_rate");
        s.setNull(i++, Types.VARCHAR);
        s.setNull(i++, Types.VARCHAR);
        s.setLong(i++, schedule.period().toNanos());
      }
      case FIXED_DELAY ->
          throw new IllegalArgumentException(
              "recurring task '" + task.name() + "': " + schedule + " runs on queues in memory only");
    }
    MissedTicks m = task.missedTicks();
    s.setString(i++, switch (m.kind()) {
      case RUN_ONCE -> "run_once";
      case SKIP -> "skip";
      case RUN_EACH -> "run_each";
    });
    s.setInt(i++, m.atMost());
    s.setLong(i++, tolerance(task.lateTolerance()).toMillis());
    return i;
  }

  /** A row as read with {@link #COLUMNS}. */
  private record Row(
      String name,
      String handler,
      String payloadJson,
      Schedule schedule,
      MissedTicks missed,
      Duration tolerance,
      boolean paused,
      @Nullable Instant next,
      @Nullable Instant last,
      @Nullable Instant trigger) {
    RecurringStatus status() {
      return new RecurringStatus(name, schedule, handler, paused, next, last);
    }
  }

  private static Row row(ResultSet r) throws SQLException {
    String kind = r.getString(4);
    Schedule schedule =
        kind.equals("cron")
            ? Schedule.cron(r.getString(5), r.getString(6))
            : Schedule.fixedRate(Duration.ofNanos(r.getLong(7)));
    MissedTicks missed =
        switch (r.getString(8)) {
          case "skip" -> MissedTicks.skip();
          case "run_each" -> MissedTicks.runEach(r.getInt(9));
          default -> MissedTicks.runOnce();
        };
    return new Row(
        r.getString(1),
        r.getString(2),
        r.getString(3),
        schedule,
        missed,
        Duration.ofMillis(r.getLong(10)),
        r.getBoolean(11),
        nullableInstant(r, 12),
        nullableInstant(r, 13),
        nullableInstant(r, 14));
  }

  // ---- firing ----

  @Override
  public List<Fired> fire(
      String queue, Instant now, int limit, boolean triggers, ToIntFunction<String> maxAttempts)
      throws SQLException {
    return inTransaction(
        c -> {
          List<Row> rows = new ArrayList<>();
          try (PreparedStatement s = c.prepareStatement(DUE)) {
            s.setString(1, queue);
            setInstant(s, 2, now);
            s.setInt(3, limit);
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                rows.add(row(r));
              }
            }
          }
          if (triggers) {
            Set<String> taken = new HashSet<>();
            for (Row row : rows) {
              taken.add(row.name);
            }
            try (PreparedStatement s = c.prepareStatement(TRIGGERED)) {
              s.setString(1, queue);
              try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                  if (!taken.contains(r.getString(1))) {
                    rows.add(row(r)); // locked by this transaction already if taken: no second entry
                  }
                }
              }
            }
          }
          if (rows.isEmpty()) {
            return List.of();
          }
          List<Fired> fired = new ArrayList<>(rows.size());
          List<String> handlers = new ArrayList<>();
          List<String> payloads = new ArrayList<>();
          List<String> names = new ArrayList<>();
          List<Integer> attempts = new ArrayList<>();
          List<String> keys = new ArrayList<>();
          String[] rowNames = new String[rows.size()];
          String[] nexts = new String[rows.size()];
          String[] lasts = new String[rows.size()];
          int k = 0;
          for (Row row : rows) {
            Ticks.Due due = null;
            Instant next = row.next;
            if (!row.paused && row.next != null && !row.next.isAfter(now)) {
              due = Ticks.due(row.schedule, row.next, now, row.missed, row.tolerance);
              next = due.next();
              for (Instant t : due.run()) {
                add(row, t, false, handlers, payloads, names, attempts, keys, maxAttempts);
              }
            }
            if (row.trigger != null) {
              add(row, row.trigger, true, handlers, payloads, names, attempts, keys, maxAttempts);
            }
            rowNames[k] = row.name;
            nexts[k] = next == null ? null : next.toString();
            lasts[k] = due == null || due.last() == null ? null : due.last().toString();
            k++;
            fired.add(new Fired(row.name, due, row.trigger, row.missed, row.tolerance));
          }
          try (PreparedStatement s = c.prepareStatement(WRITE)) {
            int i = 1;
            s.setString(i++, queue);
            s.setArray(i++, c.createArrayOf("text", handlers.toArray()));
            s.setArray(i++, c.createArrayOf("text", payloads.toArray()));
            s.setArray(i++, c.createArrayOf("text", names.toArray()));
            s.setArray(i++, c.createArrayOf("int4", attempts.toArray()));
            s.setArray(i++, c.createArrayOf("text", keys.toArray()));
            Array rowNameArray = c.createArrayOf("text", rowNames);
            s.setArray(i++, rowNameArray);
            s.setArray(i++, c.createArrayOf("text", nexts));
            s.setArray(i++, c.createArrayOf("text", lasts));
            s.setString(i++, queue);
            s.setArray(i++, rowNameArray);
            s.setString(i++, PostgresNotifications.channel(queue));
            s.setString(i++, queue);
            s.setBoolean(i, !keys.isEmpty());
            s.execute();
          }
          return fired;
        });
  }

  private static void add(
      Row row,
      Instant tick,
      boolean trigger,
      List<String> handlers,
      List<String> payloads,
      List<String> names,
      List<Integer> attempts,
      List<String> keys,
      ToIntFunction<String> maxAttempts) {
    handlers.add(row.handler);
    payloads.add(row.payloadJson);
    names.add(row.name);
    attempts.add(Math.max(1, maxAttempts.applyAsInt(row.handler)));
    keys.add(ScheduleStore.tickKey(row.name, tick, trigger));
  }

  @Override
  public @Nullable Instant earliest(String queue) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT least(min(next_run_at) FILTER (WHERE NOT paused), min(trigger_at))"
                      + " FROM loomwork_schedule WHERE queue = ?")) {
            s.setString(1, queue);
            try (ResultSet r = s.executeQuery()) {
              r.next();
              return nullableInstant(r, 1);
            }
          }
        });
  }

  // ---- admin ----

  @Override
  public List<RecurringStatus> list(String queue) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement("SELECT " + COLUMNS + " FROM loomwork_schedule WHERE queue = ? ORDER BY name")) {
            s.setString(1, queue);
            List<RecurringStatus> out = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                out.add(row(r).status());
              }
            }
            return out;
          }
        });
  }

  @Override
  public @Nullable RecurringStatus find(String queue, String name) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement("SELECT " + COLUMNS + " FROM loomwork_schedule WHERE queue = ? AND name = ?")) {
            s.setString(1, queue);
            s.setString(2, name);
            try (ResultSet r = s.executeQuery()) {
              return r.next() ? row(r).status() : null;
            }
          }
        });
  }

  @Override
  public boolean pause(String queue, String name) throws SQLException {
    return update(
        "UPDATE loomwork_schedule SET paused = true, next_run_at = NULL, updated_at = now()"
            + " WHERE queue = ? AND name = ? AND NOT paused",
        queue,
        name);
  }

  @Override
  public boolean resume(String queue, String name, Instant now) throws SQLException {
    return inTransaction(
        c -> {
          Row row;
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT " + COLUMNS + " FROM loomwork_schedule WHERE queue = ? AND name = ? AND paused FOR UPDATE")) {
            s.setString(1, queue);
            s.setString(2, name);
            try (ResultSet r = s.executeQuery()) {
              if (!r.next()) {
                return false;
              }
              row = row(r);
            }
          }
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE loomwork_schedule SET paused = false, next_run_at = ?, updated_at = now()"
                      + " WHERE queue = ? AND name = ?")) {
            setInstant(s, 1, row.schedule.next(now));
            s.setString(2, queue);
            s.setString(3, name);
            s.executeUpdate();
          }
          return true;
        });
  }

  @Override
  public boolean trigger(String queue, String name, Instant now) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE loomwork_schedule SET trigger_at = coalesce(trigger_at, ?), updated_at = now()"
                      + " WHERE queue = ? AND name = ?")) {
            setInstant(s, 1, now);
            s.setString(2, queue);
            s.setString(3, name);
            return s.executeUpdate() > 0;
          }
        });
  }

  private boolean update(String sql, String queue, String name) throws SQLException {
    return autoCommitted(
        c -> {
          try (PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, queue);
            s.setString(2, name);
            return s.executeUpdate() > 0;
          }
        });
  }
}
