package dev.loomwork.postgres;

import dev.loomwork.internal.DurableBackend;
import dev.loomwork.postgres.PostgresTypes.Applied;
import dev.loomwork.postgres.PostgresTypes.Claim;
import dev.loomwork.postgres.PostgresTypes.Completion;
import dev.loomwork.postgres.PostgresTypes.State;
import dev.loomwork.postgres.PostgresTypes.Expired;
import dev.loomwork.postgres.PostgresTypes.Rescued;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The engine's view of a {@link PostgresStore}: {@link DurableBackend} over the store's operation
 * classes ({@link PostgresClaims}, {@link PostgresLeases}, {@link PostgresMaintenance}, {@link
 * PostgresNotifications}), all over the same data source, in the seam's own record types.
 * Thread-safe: it has no state but its settings and the data source.
 */
final class PostgresBackend implements DurableBackend {
  /** Rows deleted per pruning transaction. */
  private static final int PRUNE_BATCH = 1_000;

  private final DataSource dataSource;
  private final PostgresClaims claims;
  private final PostgresLeases leases;
  private final PostgresMaintenance maintenance;
  private final PostgresNotifications notifications;
  private final Settings settings;
  private final Duration keepSucceeded;
  private final Duration keepEnded;

  PostgresBackend(DataSource dataSource, Settings settings, Duration keepSucceeded, Duration keepEnded) {
    this.dataSource = dataSource;
    this.claims = new PostgresClaims(dataSource);
    this.leases = new PostgresLeases(dataSource);
    this.maintenance = new PostgresMaintenance(dataSource);
    this.notifications = new PostgresNotifications(dataSource);
    this.settings = settings;
    this.keepSucceeded = keepSucceeded;
    this.keepEnded = keepEnded;
  }

  @Override
  public Settings settings() {
    return settings;
  }

  @Override
  public long register(String queue, Map<String, Integer> handlers) throws SQLException {
    return leases.register(queue, handlers, settings.lease());
  }

  @Override
  public boolean heartbeat(long worker) throws SQLException {
    return leases.heartbeat(worker, settings.lease());
  }

  @Override
  public void deregister(long worker) throws SQLException {
    leases.deregister(worker);
  }

  @Override
  public @Nullable List<Claimed> claim(String queue, Map<String, Integer> handlers, long worker, int n)
      throws SQLException {
    Claim c = claims.claim(queue, handlers, worker, n);
    return c.leaseLive() ? c.tasks() : null;
  }

  @Override
  public @Nullable Duration nextDue(String queue, Map<String, Integer> handlers) throws SQLException {
    return claims.nextDue(queue, handlers).orElse(null);
  }

  @Override
  public List<Long> complete(long worker, List<Outcome> outcomes) throws SQLException {
    Completion done = claims.complete(worker, outcomes);
    dropAtOnce(done.applied());
    List<Long> fenced = new ArrayList<>();
    for (Outcome o : done.fencedOut()) {
      fenced.add(o.id());
    }
    return fenced;
  }

  /**
   * A retention of zero deletes an ended task when it ends, before its end is published, instead
   * of at the next pruning (a minute later). The write of the outcome committed first, so a failure
   * here leaves the rows to the pruning.
   */
  void dropAtOnce(List<Applied> applied) throws SQLException {
    List<State> doomed = new ArrayList<>(3);
    if (keepSucceeded.isZero()) {
      doomed.add(State.SUCCEEDED);
    }
    if (keepEnded.isZero()) {
      doomed.add(State.FAILED);
      doomed.add(State.CANCELLED);
    }
    if (doomed.isEmpty() || applied.isEmpty()) {
      return;
    }
    List<Long> ids = new ArrayList<>();
    for (Applied a : applied) {
      if (doomed.contains(a.state())) {
        ids.add(a.id());
      }
    }
    maintenance.deleteEnded(ids, doomed);
  }

  @Override
  public void release(long worker, Collection<Long> ids) throws SQLException {
    dropAtOnce(claims.release(worker, ids));
  }

  @Override
  public List<Long> cancelRequested(long worker) throws SQLException {
    return leases.cancelRequested(worker);
  }

  @Override
  public List<Long> running(long worker) throws SQLException {
    return leases.running(worker);
  }

  @Override
  public @Nullable Rescue rescue() throws SQLException {
    Optional<PostgresTypes.Rescue> done = leases.rescue();
    if (done.isEmpty()) {
      return null;
    }
    Map<Long, Expired> expired = new LinkedHashMap<>();
    Map<Long, Map<String, Integer>> byWorker = new LinkedHashMap<>();
    for (Expired w : done.get().expiredWorkers()) {
      expired.put(w.id(), w);
      byWorker.put(w.id(), new TreeMap<>());
    }
    Set<String> woken = new LinkedHashSet<>();
    for (Rescued t : done.get().tasks()) {
      byWorker.computeIfAbsent(t.worker(), id -> new TreeMap<>()).merge(t.queue(), 1, Integer::sum);
      if (t.state() == PostgresTypes.State.READY) {
        woken.add(t.queue());
      }
    }
    for (String queue : woken) {
      notifications.notifyQueue(queue); // the rescued tasks may belong to other processes' queues
    }
    List<LostWorker> lost = new ArrayList<>(byWorker.size());
    byWorker.forEach(
        (id, tasks) -> {
          Expired e = expired.get(id);
          lost.add(new LostWorker(id, e == null ? null : e.queue(), e == null ? null : e.late(), Map.copyOf(tasks)));
        });
    return new Rescue(List.copyOf(lost));
  }

  @Override
  public Counts counts(String queue) throws SQLException {
    return maintenance.counts(queue);
  }

  @Override
  public java.util.Map<String, Long> unclaimable(String queue) throws SQLException {
    return maintenance.unclaimable(queue);
  }

  @Override
  public void prune() throws SQLException {
    maintenance.prune(keepSucceeded, keepEnded, PRUNE_BATCH);
  }

  @Override
  public void notifyQueue(String queue) throws SQLException {
    notifications.notifyQueue(queue);
  }

  @Override
  public Listening listen(String queue) throws SQLException {
    Connection c = dataSource.getConnection();
    try {
      if (!c.getAutoCommit()) {
        c.setAutoCommit(true);
      }
      PostgresNotifications.listen(c, queue);
    } catch (SQLException | RuntimeException e) {
      try {
        c.close();
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return new Listening() {
      /** Set by the listener's thread when the connection broke; read by close() on that thread. */
      private boolean broken;

      @Override
      public boolean await(Duration timeout) throws SQLException {
        try {
          return !PostgresNotifications.awaitNotifications(c, timeout).isEmpty();
        } catch (SQLException | RuntimeException e) {
          broken = true;
          discard(c, e);
          throw e;
        }
      }

      @Override
      public void close() {
        if (broken) {
          return; // discarded when it broke
        }
        try {
          c.close();
        } catch (SQLException ignored) {
          // the connection is gone either way
        }
      }
    };
  }

  /**
   * Issue 20, point 11: a connection that broke under the store never goes back to the
   * application's pool. The wait for notifications reads the driver's connection through {@code
   * unwrap}, past the pool's proxy, so the pool never sees the I/O error and would hand the dead
   * connection to the application's next borrower. {@link Connection#abort} closes the physical
   * connection; the pool's proxy then fails its own clean-up on close and evicts it.
   */
  static void discard(Connection c, Throwable cause) {
    try {
      c.abort(Runnable::run);
    } catch (SQLException | RuntimeException e) {
      cause.addSuppressed(e);
    }
    try {
      c.close();
    } catch (SQLException | RuntimeException e) {
      // expected: the pool's clean-up of an aborted connection fails, and the pool evicts it
    }
  }
}
