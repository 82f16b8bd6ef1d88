package dev.loomwork.console;

import dev.loomwork.TaskState;
import dev.loomwork.admin.AttemptRecord;
import dev.loomwork.admin.QueueAdmin;
import dev.loomwork.admin.StoreAdmin;
import dev.loomwork.admin.TaskDetail;
import dev.loomwork.admin.TaskSummary;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A task's page ({@code /task?src=N&queue=Q&id=I}): its fields, its payload, its last error, its
 * attempts (a durable store keeps them; a queue in memory keeps only the last error), and for a
 * durable task the retry, cancel and delete forms its state allows. Without {@code src} it asks each
 * admin in turn. Thread-safe: it keeps nothing but its admins and the clock.
 */
final class TaskDetailPage {
  private final List<QueueAdmin> admins;
  private final Clock clock;

  TaskDetailPage(List<QueueAdmin> admins, Clock clock) {
    this.admins = admins;
    this.clock = clock;
  }

  Response render(View view) throws SQLException {
    Request r = view.request;
    String id = r.param("id");
    String queue = r.param("queue");
    if (id == null || queue == null) {
      throw new BadRequest((id == null ? "id" : "queue") + ": missing (expected: a task's queue and id, as the task"
          + " list links them)");
    }
    Integer only = Params.source(r, admins.size());
    Optional<TaskDetail> found = Optional.empty();
    int source = -1;
    for (int i = only != null ? only : 0; i < admins.size() && found.isEmpty(); i++) {
      try {
        found = admins.get(i).task(queue, id);
        source = i;
      } catch (IllegalArgumentException notAnIdOfThisAdmin) {
        // a memory task's id asked of a store, or the other way round
      }
      if (only != null) {
        break;
      }
    }
    if (found.isEmpty()) {
      return view.page(404, "No such task", live -> live.raw("<p>").text("No task " + id + " in queue " + queue + ": it never existed, was"
          + " deleted or pruned, or (in memory) has ended.").raw("</p>"));
    }
    TaskDetail d = found.get();
    TaskSummary t = d.summary();
    boolean store = admins.get(source) instanceof StoreAdmin;
    String src = String.valueOf(source);
    return view.page(200, "Task " + t.id(), live -> {
      live.raw("<dl class=\"fields\" id=\"task\"><dt>Queue</dt><dd>").text(t.queue())
          .raw("</dd><dt>Id</dt><dd>").text(t.id())
          .raw("</dd><dt>Name</dt><dd>").text(t.name())
          .raw("</dd><dt>Handler</dt><dd>").text(t.handler())
          .raw("</dd><dt>State</dt><dd id=\"task-state\">");
      Formats.state(live, t.state());
      live.raw("</dd><dt>Attempt</dt><dd>").text(t.attempt() + (t.maxAttempts() > 0 ? " of " + t.maxAttempts() : ""))
          .raw("</dd><dt>Created</dt><dd>");
      Formats.time(live, t.createdAt(), clock);
      live.raw("</dd><dt>Run at</dt><dd>");
      Formats.time(live, t.runAt(), clock);
      live.raw("</dd><dt>Ended</dt><dd>");
      Formats.time(live, t.endedAt(), clock);
      live.raw("</dd><dt>Deadline</dt><dd>");
      Formats.time(live, d.deadline(), clock);
      live.raw("</dd><dt>Unique key</dt><dd>").text(d.uniqueKey())
          .raw("</dd><dt>Worker</dt><dd>").text(d.worker())
          .raw("</dd><dt>Cancel requested</dt><dd>").text(d.cancelRequested() ? "yes" : "no")
          .raw("</dd></dl>");
      if (view.writable && store) {
        live.raw("<div class=\"actions\">");
        if (t.state() == TaskState.FAILED || t.state() == TaskState.CANCELLED) {
          view.form(live, "retry", "Retry", null, "src", src, "queue", t.queue(), "id", t.id());
        }
        if (!t.state().isTerminal()) {
          view.form(live, "cancel", "Cancel", "Cancel task " + t.id() + "?", "src", src, "queue", t.queue(), "id", t.id());
        }
        if (t.state() != TaskState.RUNNING) {
          view.form(live, "delete", "Delete", "Delete task " + t.id() + " and its attempts?",
              "src", src, "queue", t.queue(), "id", t.id());
        }
        live.raw("</div>");
      }
      live.raw("<h2>Payload</h2><pre id=\"payload\">").text(d.payloadJson() == null ? "(a closure: no payload)"
          : d.payloadJson()).raw("</pre>");
      if (t.errorType() != null) {
        live.raw("<h2>Last error</h2><pre id=\"last-error\" class=\"error\">").text(t.errorType()
            + (t.errorMessage() == null ? "" : ": " + t.errorMessage())).raw("</pre>");
      }
      live.raw("<h2>Attempts</h2>");
      if (d.attempts().isEmpty()) {
        live.raw("<p class=\"muted\">").text(store ? "No attempt yet."
            : "A queue in memory keeps no attempt history, only the last error.").raw("</p>");
      } else {
        live.raw("<table id=\"attempts\"><thead><tr><th class=\"num\">#</th><th>Started</th><th>Ended</th>"
            + "<th class=\"num\">Took</th><th>Worker</th><th>Outcome</th><th>Error</th></tr></thead><tbody>");
        for (AttemptRecord a : d.attempts()) {
          live.raw("<tr><td class=\"num\">").text(a.attempt()).raw("</td><td>");
          Formats.time(live, a.startedAt(), clock);
          live.raw("</td><td>");
          Formats.time(live, a.endedAt(), clock);
          live.raw("</td><td class=\"num\">").text(a.endedAt() == null ? "" : Formats.took(Duration.between(a.startedAt(), a.endedAt())))
              .raw("</td><td>").text(a.worker()).raw("</td><td class=\"outcome\">")
              .text(a.outcome().name().toLowerCase(Locale.ROOT)).raw("</td><td class=\"error\">");
          if (a.errorType() != null) {
            live.text(a.errorType() + (a.errorMessage() == null ? "" : ": " + a.errorMessage()));
            if (a.stackTrace() != null) {
              live.raw("<details><summary>stack trace</summary><pre>").text(a.stackTrace()).raw("</pre></details>");
            }
          }
          live.raw("</td></tr>");
        }
        live.raw("</tbody></table>");
      }
    });
  }
}
