package dev.loomwork.console;

import dev.loomwork.TaskState;
import dev.loomwork.admin.PageRequest;
import dev.loomwork.admin.QueueAdmin;
import dev.loomwork.admin.StoreAdmin;
import dev.loomwork.admin.TaskFilter;
import dev.loomwork.admin.TaskPage;
import dev.loomwork.admin.TaskSummary;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * The task list ({@code /tasks}): the filter form, a page of tasks, and the links to the next page
 * and back to the first. The list walks the admins in order, each one's pages then the next's, so
 * its cursor names an admin as well as that admin's own cursor ({@link Cursor}). For a durable
 * store, a form retries every failed or cancelled task that matches the filter. Thread-safe: it keeps
 * nothing but its admins, the {@link QueueSampler} (which is) and the clock.
 */
final class TaskListPage {
  /** The page size of the task list, unless the request asks for another (1 to 500). */
  static final int PAGE_SIZE = 50;

  private static final int MAX_PAGE_SIZE = 500;

  private final List<QueueAdmin> admins;
  private final QueueSampler sampler;
  private final Clock clock;

  TaskListPage(List<QueueAdmin> admins, QueueSampler sampler, Clock clock) {
    this.admins = admins;
    this.sampler = sampler;
    this.clock = clock;
  }

  Response render(View view) throws SQLException {
    Request r = view.request;
    TaskFilter filter = Params.filter(r);
    PageRequest.Order order = "oldest".equals(r.param("order"))
        ? PageRequest.Order.OLDEST_FIRST : PageRequest.Order.NEWEST_FIRST;
    int size = Params.intParam(r.param("size"), PAGE_SIZE, 1, MAX_PAGE_SIZE, "size");
    Cursor at = Cursor.parse(r.param("after"), admins.size());
    Integer only = Params.source(r, admins.size());

    // Walk the admins in order (or only the one asked for): each one's pages, then the next's.
    List<TaskSummary> shown = List.of();
    int source = only != null ? only : at.source();
    @Nullable String cursor = at.cursor();
    @Nullable Cursor next = null;
    while (source < admins.size()) {
      TaskPage page;
      try {
        page = admins.get(source).list(filter, new PageRequest(order, size, cursor));
      } catch (IllegalArgumentException e) {
        throw new BadRequest("after: not a cursor of this list (" + e.getMessage() + "); start from the first page");
      }
      shown = page.tasks();
      if (page.next() != null) {
        next = new Cursor(source, page.next());
        break;
      }
      if (only != null || source + 1 >= admins.size()) {
        break;
      }
      if (!shown.isEmpty()) {
        next = new Cursor(source + 1, null);
        break;
      }
      source++;
      cursor = null;
    }
    final int shownSource = source;
    final List<TaskSummary> tasks = shown;
    final @Nullable Cursor nextPage = next;
    List<String> queueNames = sampler.queueNames();
    return view.page(200, "Tasks", html -> {
      filters(html, view, filter, order, queueNames);
    }, live -> {
      if (view.writable && admins.size() > shownSource && admins.get(shownSource) instanceof StoreAdmin
          && (filter.states().isEmpty() || filter.states().contains(TaskState.FAILED)
              || filter.states().contains(TaskState.CANCELLED))) {
        List<String> fields = new ArrayList<>(List.of("src", String.valueOf(shownSource)));
        Params.filterFields(filter, fields);
        live.raw("<div class=\"actions\">");
        view.form(live, "retry-matching", "Retry every failed or cancelled task matching this filter",
            "Retry every failed or cancelled task of this store that matches the filter?", fields.toArray(String[]::new));
        live.raw("</div>");
      }
      live.raw("<table id=\"tasks\"><thead><tr><th>Id</th><th>Queue</th><th>Name</th><th>Handler</th><th>State</th>"
          + "<th class=\"num\">Attempt</th><th>Created</th><th>Run at</th><th>Ended</th><th>Last error</th>"
          + "</tr></thead><tbody>");
      if (tasks.isEmpty()) {
        live.raw("<tr><td colspan=\"10\" class=\"muted\">No task matches.</td></tr>");
      }
      for (TaskSummary t : tasks) {
        String href = view.link("/task", "src", String.valueOf(shownSource), "queue", t.queue(), "id", t.id());
        live.raw("<tr").attr("data-task", t.id()).raw("><td><a class=\"task-link\"").attr("href", href).raw(">")
            .text(t.id()).raw("</a></td><td>").text(t.queue()).raw("</td><td>").text(t.name()).raw("</td><td>")
            .text(t.handler()).raw("</td><td>");
        Formats.state(live, t.state());
        live.raw("</td><td class=\"num\">").text(t.attempt() + (t.maxAttempts() > 0 ? " / " + t.maxAttempts() : ""))
            .raw("</td><td>");
        Formats.time(live, t.createdAt(), clock);
        live.raw("</td><td>");
        Formats.time(live, t.runAt(), clock);
        live.raw("</td><td>");
        Formats.time(live, t.endedAt(), clock);
        live.raw("</td><td class=\"error\">");
        if (t.errorType() != null) {
          live.text(Formats.shorten(t.errorType() + (t.errorMessage() == null ? "" : ": " + t.errorMessage()), 160));
        }
        live.raw("</td></tr>");
      }
      live.raw("</tbody></table><div class=\"pager\">");
      if (r.param("after") != null) {
        live.raw("<a id=\"first-page\"").attr("href", view.self("after", null)).raw(">First page</a>");
      }
      if (nextPage != null) {
        live.raw("<a id=\"next-page\"").attr("href", view.self("after", nextPage.toString())).raw(">Next page</a>");
      }
      live.raw("</div>");
    });
  }

  private static void filters(Html html, View view, TaskFilter filter, PageRequest.Order order, List<String> queues) {
    Request r = view.request;
    html.raw("<form class=\"filters\" id=\"filters\" method=\"get\"").attr("action", view.base + "/tasks").raw(">");
    if (r.param("src") != null) {
      html.raw("<input type=\"hidden\" name=\"src\"").attr("value", r.param("src")).raw(">");
    }
    html.raw("<label>Queue<select name=\"queue\"><option value=\"\">every queue</option>");
    boolean known = filter.queue() == null;
    for (String q : queues) {
      html.raw("<option").attr("value", q).raw(q.equals(filter.queue()) ? " selected>" : ">").text(q).raw("</option>");
      known |= q.equals(filter.queue());
    }
    if (!known) {
      html.raw("<option selected").attr("value", filter.queue()).raw(">").text(filter.queue()).raw("</option>");
    }
    html.raw("</select></label><label>State<select name=\"state\"><option value=\"\">every state</option>");
    for (TaskState s : TaskState.values()) {
      if (s != TaskState.NEW) {
        html.raw("<option").attr("value", s.name()).raw(filter.states().contains(s) ? " selected>" : ">")
            .text(s.name().toLowerCase(Locale.ROOT)).raw("</option>");
      }
    }
    html.raw("</select></label><label>Handler<input name=\"handler\" size=\"14\"").attr("value", filter.handler())
        .raw("></label><label>Error contains<input name=\"error\" size=\"20\"").attr("value", filter.errorContains())
        .raw("></label><label>Order<select name=\"order\"><option value=\"newest\">newest first</option>"
            + "<option value=\"oldest\"").raw(order == PageRequest.Order.OLDEST_FIRST ? " selected" : "")
        .raw(">oldest first</option></select></label><button type=\"submit\" id=\"apply-filters\">Filter</button>")
        .raw("<a").attr("href", view.base + "/tasks").raw(">Clear</a></form>");
  }

  /**
   * Where a task list continues: an admin's number and that admin's own cursor ({@code 1.} alone
   * is that admin's first page).
   */
  record Cursor(int source, @Nullable String cursor) {
    static Cursor parse(@Nullable String value, int admins) {
      if (value == null) {
        return new Cursor(0, null);
      }
      int dot = value.indexOf('.');
      try {
        int source = Integer.parseInt(dot < 0 ? value : value.substring(0, dot));
        String rest = dot < 0 ? "" : value.substring(dot + 1);
        if (source >= 0 && source < admins) {
          return new Cursor(source, rest.isEmpty() ? null : rest);
        }
      } catch (NumberFormatException malformed) {
        // the message below
      }
      throw new BadRequest("after: " + value + " (expected: a cursor from a Next page link)");
    }

    @Override
    public String toString() {
      return source + "." + (cursor == null ? "" : cursor);
    }
  }
}
