package dev.loomwork.console;

import dev.loomwork.admin.QueueAdmin;
import dev.loomwork.admin.QueueKind;
import dev.loomwork.admin.QueueOverview;
import dev.loomwork.admin.StoreAdmin;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;

/**
 * The console's first page ({@code /}): a row per queue of every admin, with its counts by state
 * (each a link to the task list of that state), its lifecycle or pause, the tasks ended per minute,
 * and a pause or resume form for a durable queue. Thread-safe: it keeps nothing but its admins and
 * the {@link QueueSampler}, which is.
 */
final class QueuesPage {
  private final List<QueueAdmin> admins;
  private final QueueSampler sampler;

  QueuesPage(List<QueueAdmin> admins, QueueSampler sampler) {
    this.admins = admins;
    this.sampler = sampler;
  }

  Response render(View view) throws SQLException {
    List<QueueSampler.Row> rows = sampler.rows();
    return view.page(200, "Queues", live -> {
      live.raw("<table id=\"queues\"><thead><tr><th>Queue</th><th>Kind</th><th>Status</th>"
          + "<th class=\"num\">Ready</th><th class=\"num\">Waiting</th><th class=\"num\">Running</th>"
          + "<th class=\"num\">Succeeded</th><th class=\"num\">Failed</th><th class=\"num\">Cancelled</th>"
          + "<th class=\"num\">Ended/min</th><th></th></tr></thead><tbody>");
      if (rows.isEmpty()) {
        live.raw("<tr><td colspan=\"11\" class=\"muted\">No queue yet.</td></tr>");
      }
      for (QueueSampler.Row row : rows) {
        QueueOverview q = row.overview();
        String tasksOf = view.link("/tasks", "src", String.valueOf(row.source()), "queue", q.queue());
        live.raw("<tr").attr("data-queue", q.queue()).raw("><td><a").attr("href", tasksOf).raw(">")
            .text(q.queue()).raw("</a></td><td>").text(q.kind() == QueueKind.DURABLE ? "durable" : "memory")
            .raw("</td><td class=\"status\">");
        if (q.paused()) {
          live.raw("<span class=\"paused\">paused</span>");
        } else if (q.health() != null) {
          live.text(q.health().lifecycle().toString().toLowerCase(Locale.ROOT));
        } else {
          live.raw("active");
        }
        live.raw("</td>");
        cell(live, q.ready(), view.link("/tasks", "src", String.valueOf(row.source()), "queue", q.queue(), "state", "READY"));
        cell(live, q.waiting(), view.link("/tasks", "src", String.valueOf(row.source()), "queue", q.queue(), "state", "WAITING"));
        cell(live, q.running(), view.link("/tasks", "src", String.valueOf(row.source()), "queue", q.queue(), "state", "RUNNING"));
        cell(live, q.succeeded(), view.link("/tasks", "src", String.valueOf(row.source()), "queue", q.queue(), "state", "SUCCEEDED"));
        cell(live, q.failed(), view.link("/tasks", "src", String.valueOf(row.source()), "queue", q.queue(), "state", "FAILED"));
        cell(live, q.cancelled(), view.link("/tasks", "src", String.valueOf(row.source()), "queue", q.queue(), "state", "CANCELLED"));
        live.raw("<td class=\"num throughput\">").text(row.endedPerMinute() < 0 ? "–"
            : String.format(Locale.ROOT, "%.1f", row.endedPerMinute())).raw("</td><td>");
        if (view.writable && admins.get(row.source()) instanceof StoreAdmin) {
          String action = q.paused() ? "resume" : "pause";
          view.form(live, action, q.paused() ? "Resume" : "Pause", null,
              "src", String.valueOf(row.source()), "queue", q.queue());
        }
        live.raw("</td></tr>");
      }
      live.raw("</tbody></table><p class=\"muted\">")
          .text("Durable counts are the rows the store keeps (ended tasks until their retention ends); memory"
              + " counts are this process's since each queue was built. Ended/min is measured by this console"
              + " between its refreshes.")
          .raw("</p>");
    });
  }

  private static void cell(Html live, long count, String href) {
    live.raw("<td class=\"num\"><a").attr("href", href).raw(">").text(count).raw("</a></td>");
  }
}
