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

/** The engine's view of a {@link PostgresStore}: the store's operations in the engine's types. */
final class PostgresBackend implements DurableBackend {
  /** Rows deleted per pruning transaction. */
  private static final int PRUNE_BATCH = 1_000;
  /** Stack frames kept in a task's {@code last_error}. */
  private static final int STACK_FRAMES = 20;

  private final DataSource dataSource;
  private final PostgresTasks tasks;
  private final Settings settings;
  private final Duration keepSucceeded;
  private final Duration keepEnded;

  PostgresBackend(
      DataSource dataSource,
      PostgresTasks tasks,
      Settings settings,
      Duration keepSucceeded,
      Duration keepEnded) {
    this.dataSource = dataSource;
    this.tasks = tasks;
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
    return tasks.register(queue, settings.lease());
  }

  @Override
  public boolean heartbeat(long worker) throws SQLException {
    return tasks.heartbeat(worker, settings.lease());
  }

  @Override
  public void deregister(long worker) throws SQLException {
    tasks.deregister(worker);
  }

  @Override
  public @Nullable List<DurableBackend.Claimed> claim(
      String queue, Collection<String> handlers, long worker, int n) throws SQLException {
    Claim c = tasks.claim(queue, handlers, worker, n);
    if (!c.leaseLive()) {
      return null;
    }
    List<DurableBackend.Claimed> out = new ArrayList<>(c.tasks().size());
    for (PostgresTypes.Claimed t : c.tasks()) {
      out.add(
          new DurableBackend.Claimed(
              t.id(), t.handler(), t.payloadJson(), t.name(), t.attempt(), t.maxAttempts(), t.deadline(),
              t.uniqueKey()));
    }
    return out;
  }

  @Override
  public @Nullable Duration nextDue(String queue, Collection<String> handlers) throws SQLException {
    return tasks.nextDue(queue, handlers).orElse(null);
  }

  @Override
  public List<Long> complete(long worker, List<DurableBackend.Outcome> outcomes) throws SQLException {
    List<PostgresTypes.Outcome> os = new ArrayList<>(outcomes.size());
    for (DurableBackend.Outcome o : outcomes) {
      PostgresTypes.Ending ending =
          switch (o.ending()) {
            case SUCCEEDED -> PostgresTypes.Ending.SUCCEEDED;
            case FAILED -> PostgresTypes.Ending.FAILED;
            case RETRY -> PostgresTypes.Ending.RETRY;
            case CANCELLED -> PostgresTypes.Ending.CANCELLED;
          };
      Throwable e = o.error();
      String error =
          e == null
              ? null
              : PostgresErrorJson.errorJson(
                  e.getClass().getName(), e.getMessage(), stack(e), o.attempt(), worker);
      os.add(new PostgresTypes.Outcome(o.id(), o.attempt(), ending, o.retryDelay(), error));
    }
    List<Long> fenced = new ArrayList<>();
    for (PostgresTypes.Outcome o : tasks.complete(worker, os).fencedOut()) {
      fenced.add(o.id());
    }
    return fenced;
  }

  private static String stack(Throwable e) {
    StringBuilder s = new StringBuilder(e.toString());
    StackTraceElement[] frames = e.getStackTrace();
    for (int i = 0; i < Math.min(frames.length, STACK_FRAMES); i++) {
      s.append("\n\tat ").append(frames[i]);
    }
    if (frames.length > STACK_FRAMES) {
      s.append("\n\t... ").append(frames.length - STACK_FRAMES).append(" more");
    }
    return s.toString();
  }

  @Override
  public void release(long worker, Collection<Long> ids) throws SQLException {
    tasks.release(worker, ids);
  }

  @Override
  public List<Long> cancelRequested(long worker) throws SQLException {
    return tasks.cancelRequested(worker);
  }

  @Override
  public List<Long> running(long worker) throws SQLException {
    return tasks.running(worker);
  }

  @Override
  public int rescue() throws SQLException {
    Optional<Rescue> r = tasks.rescue();
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
      tasks.notifyQueue(queue); // the rescued tasks may belong to other processes' queues
    }
    return r.get().tasks().size();
  }

  @Override
  public long[] counts(String queue) throws SQLException {
    PostgresTypes.Counts c = tasks.counts(queue);
    return new long[] {c.ready(), c.waiting(), c.running(), c.succeeded(), c.failed(), c.cancelled()};
  }

  @Override
  public void prune() throws SQLException {
    tasks.prune(keepSucceeded, keepEnded, PRUNE_BATCH);
  }

  @Override
  public void notifyQueue(String queue) throws SQLException {
    tasks.notifyQueue(queue);
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
