package dev.loomwork.console;

import dev.loomwork.admin.QueueAdmin;
import dev.loomwork.admin.StoreAdmin;
import dev.loomwork.admin.WorkerInfo;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The workers page ({@code /workers}): the live workers of every durable store (host, pid, handlers,
 * concurrency, claimed tasks, last heartbeat), then the queues in this process's memory (lifecycle,
 * running against concurrency, ready against capacity, the oldest ready task's age). Thread-safe: it
 * keeps nothing but its admins, the {@link QueueSampler} (which is) and the clock.
 */
final class WorkersPage {
  private final List<QueueAdmin> admins;
  private final QueueSampler sampler;
  private final Clock clock;

  WorkersPage(List<QueueAdmin> admins, QueueSampler sampler, Clock clock) {
    this.admins = admins;
    this.sampler = sampler;
    this.clock = clock;
  }

  Response render(View view) throws SQLException {
    List<WorkerInfo> workers = new ArrayList<>();
    for (QueueAdmin admin : admins) {
      if (admin instanceof StoreAdmin store) {
        workers.addAll(store.workers());
      }
    }
    List<QueueSampler.Row> memory = sampler.rows().stream()
        .filter(row -> row.overview().health() != null).toList();
    Instant now = clock.instant();
    return view.page(200, "Workers", live -> {
      live.raw("<h2>Durable workers</h2><table id=\"workers\"><thead><tr><th>Id</th><th>Queue</th><th>Host</th>"
          + "<th class=\"num\">Pid</th><th>Handlers</th><th class=\"num\">Concurrency</th><th class=\"num\">Claimed</th>"
          + "<th>Started</th><th>Last heartbeat</th></tr></thead><tbody>");
      if (workers.isEmpty()) {
        live.raw("<tr><td colspan=\"9\" class=\"muted\">No live worker.</td></tr>");
      }
      for (WorkerInfo w : workers) {
        live.raw("<tr><td>").text(w.id()).raw("</td><td>").text(w.queue()).raw("</td><td>").text(w.host())
            .raw("</td><td class=\"num\">").text(w.pid()).raw("</td><td>").text(String.join(", ", w.handlers()))
            .raw("</td><td class=\"num\">").text(w.concurrency()).raw("</td><td class=\"num\">").text(w.claimed())
            .raw("</td><td>");
        Formats.time(live, w.startedAt(), clock);
        live.raw("</td><td>").text(Formats.ago(Duration.between(w.heartbeatAt(), now))).raw("</td></tr>");
      }
      live.raw("</tbody></table><h2>Queues in this process's memory</h2><table id=\"memory-queues\"><thead><tr>"
          + "<th>Queue</th><th>Lifecycle</th><th class=\"num\">Running</th><th class=\"num\">Concurrency</th>"
          + "<th class=\"num\">Ready</th><th class=\"num\">Capacity</th><th>Oldest ready</th></tr></thead><tbody>");
      if (memory.isEmpty()) {
        live.raw("<tr><td colspan=\"7\" class=\"muted\">None registered with the console.</td></tr>");
      }
      for (QueueSampler.Row row : memory) {
        var h = row.overview().health();
        if (h == null) {
          continue;
        }
        live.raw("<tr><td>").text(h.queue()).raw("</td><td>").text(h.lifecycle().toString().toLowerCase(Locale.ROOT))
            .raw("</td><td class=\"num\">").text(h.running()).raw("</td><td class=\"num\">").text(h.concurrency())
            .raw("</td><td class=\"num\">").text(h.ready()).raw("</td><td class=\"num\">").text(h.capacity())
            .raw("</td><td>").text(Formats.took(h.oldestReadyAge())).raw("</td></tr>");
      }
      live.raw("</tbody></table>");
    });
  }
}
