package dev.loomwork.postgres;

import dev.loomwork.internal.DurableBackend.Counts;
import dev.loomwork.internal.DurableBackend.Outcome;
import dev.loomwork.postgres.PostgresTypes.Applied;
import dev.loomwork.postgres.PostgresTypes.Claim;
import dev.loomwork.postgres.PostgresTypes.Completion;
import dev.loomwork.postgres.PostgresTypes.Enqueued;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import dev.loomwork.postgres.PostgresTypes.Rescue;
import dev.loomwork.postgres.PostgresTypes.State;
import dev.loomwork.postgres.PostgresTypes.StoredTask;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import javax.sql.DataSource;

/**
 * The tests' entry point to the store's SQL operations: one method per operation, each passed on
 * to the class that does that job ({@link PostgresEnqueue}, {@link PostgresClaims}, {@link
 * PostgresLeases}, {@link PostgresTaskRows}, {@link PostgresMaintenance}, {@link
 * PostgresNotifications}), all over the same data source, with the results in the SQL side's own
 * types. The library itself calls those classes from {@link PostgresBackend} and {@link
 * PostgresStore}; the conventions for connections and time are on {@link PostgresOperations}.
 */
final class PostgresTasks {

  private final PostgresEnqueue enqueue;
  private final PostgresClaims claims;
  private final PostgresLeases leases;
  private final PostgresTaskRows rows;
  private final PostgresMaintenance maintenance;
  private final PostgresNotifications notifications;

  /**
   * @param dataSource where the schema lives; the store borrows one connection per operation
   */
  PostgresTasks(DataSource dataSource) {
    Objects.requireNonNull(dataSource, "dataSource");
    this.enqueue = new PostgresEnqueue(dataSource);
    this.claims = new PostgresClaims(dataSource);
    this.leases = new PostgresLeases(dataSource);
    this.rows = new PostgresTaskRows(dataSource);
    this.maintenance = new PostgresMaintenance(dataSource);
    this.notifications = new PostgresNotifications(dataSource);
  }

  /** @see PostgresEnqueue#enqueue(NewTask) */
  Enqueued enqueue(NewTask task) throws SQLException {
    return enqueue.enqueue(task);
  }

  /** @see PostgresClaims#claim */
  Claim claim(String queue, Map<String, Integer> handlers, long workerId, int n) throws SQLException {
    return claims.claim(queue, handlers, workerId, n);
  }

  /** A claim of {@code handlers} at every payload version (for tests about something else). */
  Claim claim(String queue, Collection<String> handlers, long workerId, int n) throws SQLException {
    return claims.claim(queue, anyVersion(handlers), workerId, n);
  }

  /** @see PostgresClaims#nextDue */
  Optional<Duration> nextDue(String queue, Map<String, Integer> handlers) throws SQLException {
    return claims.nextDue(queue, handlers);
  }

  /** {@link #nextDue(String, Map)} at every payload version. */
  Optional<Duration> nextDue(String queue, Collection<String> handlers) throws SQLException {
    return claims.nextDue(queue, anyVersion(handlers));
  }

  private static Map<String, Integer> anyVersion(Collection<String> handlers) {
    Map<String, Integer> versions = new LinkedHashMap<>();
    for (String h : handlers) {
      versions.put(h, Integer.MAX_VALUE);
    }
    return versions;
  }

  /** @see PostgresClaims#complete */
  Completion complete(long workerId, List<Outcome> outcomes) throws SQLException {
    return claims.complete(workerId, outcomes);
  }

  /** @see PostgresClaims#release */
  List<Applied> release(long workerId, Collection<Long> ids) throws SQLException {
    return claims.release(workerId, ids);
  }

  /** @see PostgresLeases#register */
  long register(String queue, Map<String, Integer> handlers, Duration lease) throws SQLException {
    return leases.register(queue, handlers, lease);
  }

  /** A worker that records no handlers (for tests about something else). */
  long register(String queue, Duration lease) throws SQLException {
    return leases.register(queue, Map.of(), lease);
  }

  /** @see PostgresLeases#heartbeat */
  boolean heartbeat(long workerId, Duration lease) throws SQLException {
    return leases.heartbeat(workerId, lease);
  }

  /** @see PostgresLeases#deregister */
  boolean deregister(long workerId) throws SQLException {
    return leases.deregister(workerId);
  }

  /** @see PostgresLeases#cancelRequested */
  List<Long> cancelRequested(long workerId) throws SQLException {
    return leases.cancelRequested(workerId);
  }

  /** @see PostgresLeases#running */
  List<Long> running(long workerId) throws SQLException {
    return leases.running(workerId);
  }

  /** @see PostgresLeases#rescue */
  Optional<Rescue> rescue() throws SQLException {
    return leases.rescue();
  }

  /** @see PostgresTaskRows#cancel */
  Optional<State> cancel(long id) throws SQLException {
    return rows.cancel(id);
  }

  /** @see PostgresTaskRows#find */
  Optional<StoredTask> find(long id) throws SQLException {
    return rows.find(id);
  }

  /** @see PostgresMaintenance#prune */
  OptionalLong prune(Duration keepSucceeded, Duration keepEnded, int batch) throws SQLException {
    return maintenance.prune(keepSucceeded, keepEnded, batch);
  }

  /** @see PostgresMaintenance#counts */
  Counts counts(String queue) throws SQLException {
    return maintenance.counts(queue);
  }

  /** @see PostgresNotifications#notifyQueue(String) */
  void notifyQueue(String queue) throws SQLException {
    notifications.notifyQueue(queue);
  }
}
