package dev.loomwork.postgres;

import dev.loomwork.internal.DurableBackend;
import dev.loomwork.postgres.PostgresTypes.Claim;
import dev.loomwork.postgres.PostgresTypes.Rescue;
import dev.loomwork.postgres.PostgresTypes.Rescued;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
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
  public long register(String queue) throws SQLException {
    return leases.register(queue, settings.lease());
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
  public @Nullable List<Claimed> claim(String queue, Collection<String> handlers, long worker, int n)
      throws SQLException {
    Claim c = claims.claim(queue, handlers, worker, n);
    return c.leaseLive() ? c.tasks() : null;
  }

  @Override
  public @Nullable Duration nextDue(String queue, Collection<String> handlers) throws SQLException {
    return claims.nextDue(queue, handlers).orElse(null);
  }

  @Override
  public List<Long> complete(long worker, List<Outcome> outcomes) throws SQLException {
    List<Long> fenced = new ArrayList<>();
    for (Outcome o : claims.complete(worker, outcomes).fencedOut()) {
      fenced.add(o.id());
    }
    return fenced;
  }

  @Override
  public void release(long worker, Collection<Long> ids) throws SQLException {
    claims.release(worker, ids);
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
  public int rescue() throws SQLException {
    Optional<Rescue> r = leases.rescue();
    if (r.isEmpty()) {
      return -1;
    }
    Set<String> woken = new LinkedHashSet<>();
    for (Rescued t : r.get().tasks()) {
      if (t.state() == PostgresTypes.State.READY) {
        woken.add(t.queue());
      }
    }
    for (String queue : woken) {
      notifications.notifyQueue(queue); // the rescued tasks may belong to other processes' queues
    }
    return r.get().tasks().size();
  }

  @Override
  public Counts counts(String queue) throws SQLException {
    return maintenance.counts(queue);
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
      @Override
      public boolean await(Duration timeout) throws SQLException {
        return !PostgresNotifications.awaitNotifications(c, timeout).isEmpty();
      }

      @Override
      public void close() {
        try {
          c.close();
        } catch (SQLException ignored) {
          // the connection is gone either way
        }
      }
    };
  }
}
