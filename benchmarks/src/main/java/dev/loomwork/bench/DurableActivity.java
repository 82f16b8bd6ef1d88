package dev.loomwork.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;

/**
 * A poor man's profile of the server, for {@code -jvmArgsAppend -Ddurable.activity=true}: samples
 * {@code pg_stat_activity} every 5 ms on a thread of its own and, when stopped, prints how often each
 * (statement, state, wait event) was seen among the other sessions: where the server spends the
 * benchmark's time. Off by default; the figures published are measured without it.
 */
final class DurableActivity implements AutoCloseable {
  static final boolean ENABLED = Boolean.getBoolean("durable.activity");

  private final Connection connection;
  private final Thread thread;
  private final Map<String, Integer> seen = new TreeMap<>();
  private volatile boolean stop;
  private int samples;

  private DurableActivity(DurableServer server) throws SQLException {
    connection = server.admin();
    thread = Thread.ofPlatform().daemon().name("durable-activity").start(this::run);
  }

  /** A sampler, or null when sampling is off. */
  static DurableActivity startIfEnabled(DurableServer server) throws SQLException {
    return ENABLED ? new DurableActivity(server) : null;
  }

  private void run() {
    String sql =
        "SELECT coalesce(state, '?') || ' | ' || coalesce(wait_event_type || ':' || wait_event, 'CPU')"
            + " || ' | ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 70)"
            + " FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            + " AND state <> 'idle'";
    try (Statement s = connection.createStatement()) {
      while (!stop) {
        try (ResultSet r = s.executeQuery(sql)) {
          while (r.next()) {
            seen.merge(r.getString(1), 1, Integer::sum);
          }
        }
        samples++;
        Thread.sleep(5);
      }
    } catch (SQLException | InterruptedException e) {
      System.out.println("[durable] activity sampling stopped: " + e);
    }
  }

  @Override
  public void close() throws SQLException, InterruptedException {
    stop = true;
    thread.join();
    connection.close();
    StringBuilder out = new StringBuilder("\n[durable] pg_stat_activity, " + samples + " samples (non-idle sessions seen):\n");
    seen.entrySet().stream()
        .sorted((a, b) -> b.getValue() - a.getValue())
        .limit(15)
        .forEach(e -> out.append(String.format("  %6d  %s%n", e.getValue(), e.getKey())));
    System.out.print(out);
  }
}
