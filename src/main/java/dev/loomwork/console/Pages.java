package dev.loomwork.console;

import dev.loomwork.TaskState;
import dev.loomwork.admin.AttemptRecord;
import dev.loomwork.admin.PageRequest;
import dev.loomwork.admin.QueueAdmin;
import dev.loomwork.admin.QueueKind;
import dev.loomwork.admin.QueueOverview;
import dev.loomwork.admin.StoreAdmin;
import dev.loomwork.admin.TaskDetail;
import dev.loomwork.admin.TaskFilter;
import dev.loomwork.admin.TaskPage;
import dev.loomwork.admin.TaskSummary;
import dev.loomwork.admin.WorkerInfo;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console's pages and actions, over the admins it was given. Every page is rendered on the
 * server, with every value from a task, a queue, a worker or the request escaped by {@link Html}.
 * A page's live part ({@code <section id="live">}) is also served alone, for the page's script to
 * refresh it in place.
 *
 * <p>Admins are numbered in the order the console was given them; links and forms name a task by
 * that number ({@code src}) and its id, so no request needs a search across admins. Thread-safe:
 * its only state is the {@link QueueSampler}, which is.
 */
final class Pages {
  private static final Logger log = LoggerFactory.getLogger(Pages.class);

  /** The page paths below the console's base. */
  static final Set<String> ROUTES = Set.of("/", "/tasks", "/task", "/workers");

  /** The action names of {@code /actions/NAME}. */
  static final Map<String, ConsoleAction.Kind> ACTIONS = Map.of(
      "retry", ConsoleAction.Kind.RETRY,
      "retry-matching", ConsoleAction.Kind.RETRY_MATCHING,
      "cancel", ConsoleAction.Kind.CANCEL,
      "delete", ConsoleAction.Kind.DELETE,
      "pause", ConsoleAction.Kind.PAUSE,
      "resume", ConsoleAction.Kind.RESUME);

  /** The page size of the task list, unless the request asks for another (1 to 500). */
  static final int PAGE_SIZE = 50;

  private static final int MAX_PAGE_SIZE = 500;

  /** A page to go back to after an action: one of the console's own, with any query. */
  private static final Pattern RETURN_PATH = Pattern.compile("/(tasks|task|workers)?(\\?[^\\\\#\\s]*)?");

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  private final List<QueueAdmin> admins;
  private final QueueSampler sampler;
  private final Notices notices;
  private final Clock clock;
  private final Duration refresh;

  Pages(List<QueueAdmin> admins, Clock clock, Duration refresh, java.security.SecureRandom random) {
    this.admins = List.copyOf(admins);
    this.clock = clock;
    this.refresh = refresh;
    this.sampler = new QueueSampler(this.admins, clock);
    this.notices = new Notices(random);
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  /** Answers a GET of one of {@link #ROUTES}. */
  Response get(Request request, String csrfToken, boolean writable) {
    View view = new View(request, csrfToken, writable);
    try {
      return switch (request.path()) {
        case "/tasks" -> tasks(view);
        case "/task" -> task(view);
        case "/workers" -> workers(view);
        default -> queues(view);
      };
    } catch (BadRequest e) {
      return view.page(400, "Bad request", live -> live.raw("<p class=\"error\">").text(e.getMessage()).raw("</p>"));
    } catch (SQLException e) {
      log.warn("console: the store refused {}", request.path(), e);
      return view.page(503, "The store did not answer", live -> live.raw("<p class=\"error\">")
          .text("The database refused or did not answer: " + e.getMessage()).raw("</p>"));
    }
  }

  private Response queues(View view) throws SQLException {
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

  private Response tasks(View view) throws SQLException {
    Request r = view.request;
    TaskFilter filter = filter(r);
    PageRequest.Order order = "oldest".equals(r.param("order"))
        ? PageRequest.Order.OLDEST_FIRST : PageRequest.Order.NEWEST_FIRST;
    int size = intParam(r.param("size"), PAGE_SIZE, 1, MAX_PAGE_SIZE, "size");
    Cursor at = Cursor.parse(r.param("after"), admins.size());
    Integer only = sourceParam(r);

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
        filterFields(filter, fields);
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
        state(live, t.state());
        live.raw("</td><td class=\"num\">").text(t.attempt() + (t.maxAttempts() > 0 ? " / " + t.maxAttempts() : ""))
            .raw("</td><td>");
        time(live, t.createdAt());
        live.raw("</td><td>");
        time(live, t.runAt());
        live.raw("</td><td>");
        time(live, t.endedAt());
        live.raw("</td><td class=\"error\">");
        if (t.errorType() != null) {
          live.text(shorten(t.errorType() + (t.errorMessage() == null ? "" : ": " + t.errorMessage()), 160));
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

  private Response task(View view) throws SQLException {
    Request r = view.request;
    String id = r.param("id");
    String queue = r.param("queue");
    if (id == null || queue == null) {
      throw new BadRequest((id == null ? "id" : "queue") + ": missing (expected: a task's queue and id, as the task"
          + " list links them)");
    }
    Integer only = sourceParam(r);
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
      state(live, t.state());
      live.raw("</dd><dt>Attempt</dt><dd>").text(t.attempt() + (t.maxAttempts() > 0 ? " of " + t.maxAttempts() : ""))
          .raw("</dd><dt>Created</dt><dd>");
      time(live, t.createdAt());
      live.raw("</dd><dt>Run at</dt><dd>");
      time(live, t.runAt());
      live.raw("</dd><dt>Ended</dt><dd>");
      time(live, t.endedAt());
      live.raw("</dd><dt>Deadline</dt><dd>");
      time(live, d.deadline());
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
          time(live, a.startedAt());
          live.raw("</td><td>");
          time(live, a.endedAt());
          live.raw("</td><td class=\"num\">").text(a.endedAt() == null ? "" : took(Duration.between(a.startedAt(), a.endedAt())))
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

  private Response workers(View view) throws SQLException {
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
        time(live, w.startedAt());
        live.raw("</td><td>").text(ago(Duration.between(w.heartbeatAt(), now))).raw("</td></tr>");
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
            .raw("</td><td>").text(took(h.oldestReadyAge())).raw("</td></tr>");
      }
      live.raw("</tbody></table>");
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Acting (the handler has checked the method, the CSRF token and the authoriser)

  /** What an action is on, for the authoriser. */
  static String target(ConsoleAction.Kind kind, Request request) {
    return switch (kind) {
      case RETRY, CANCEL, DELETE -> String.valueOf(request.field("id"));
      case PAUSE, RESUME -> String.valueOf(request.field("queue"));
      case RETRY_MATCHING -> {
        StringBuilder b = new StringBuilder();
        for (String name : List.of("queue", "state", "handler", "error")) {
          String value = request.field(name);
          if (value != null) {
            b.append(b.isEmpty() ? "" : "&").append(name).append('=').append(Html.url(value));
          }
        }
        yield b.toString();
      }
    };
  }

  /** Performs a state-changing action and sends the browser back to the page it came from. */
  Response act(ConsoleAction.Kind kind, Request request) {
    String back = request.field("return");
    String location = request.base() + (back != null && RETURN_PATH.matcher(back).matches() ? back : "/");
    try {
      StoreAdmin store = storeOf(request);
      String notice = switch (kind) {
        case RETRY -> store.retry(id(request)) ? "Task " + id(request) + " retried: it is ready again."
            : "Task " + id(request) + " was not retried: it is not failed or cancelled, or its unique key is taken.";
        case RETRY_MATCHING -> store.retryAll(filter(request.form())) + " task(s) retried.";
        case CANCEL -> store.cancel(id(request)) ? "Task " + id(request) + " cancelled."
            : "Task " + id(request) + " was not cancelled: it has ended or does not exist.";
        case DELETE -> {
          boolean deleted = store.delete(id(request));
          if (deleted && back != null && back.startsWith("/task?")) {
            location = request.base() + "/tasks";
          }
          yield deleted ? "Task " + id(request) + " deleted."
              : "Task " + id(request) + " was not deleted: it is running or does not exist.";
        }
        case PAUSE -> store.pause(queue(request)) ? "Queue " + queue(request) + " paused."
            : "Queue " + queue(request) + " was paused already.";
        case RESUME -> store.resume(queue(request)) ? "Queue " + queue(request) + " resumed."
            : "Queue " + queue(request) + " was not paused.";
      };
      sampler.invalidate();
      log.info("console: {} {}: {}", kind, target(kind, request), notice);
      return Response.redirect(location + (location.contains("?") ? "&" : "?") + "notice=" + notices.put(notice));
    } catch (BadRequest | IllegalArgumentException e) {
      return Response.text(400, "bad request: " + e.getMessage());
    } catch (SQLException e) {
      log.warn("console: {} failed: the store refused", kind, e);
      return Response.text(503, "the store refused: " + e.getMessage());
    }
  }

  private StoreAdmin storeOf(Request request) {
    String src = request.field("src");
    int i = src == null ? -1 : intParam(src, -1, 0, admins.size() - 1, "src");
    if (i < 0 || !(admins.get(i) instanceof StoreAdmin store)) {
      throw new BadRequest("src: " + src + " (expected: the number of a durable store's admin; queues in memory"
          + " are read-only)");
    }
    return store;
  }

  private static long id(Request request) {
    String id = request.field("id");
    try {
      return Long.parseLong(String.valueOf(id));
    } catch (NumberFormatException e) {
      throw new BadRequest("id: " + id + " (expected: a durable task's id, a number)");
    }
  }

  private static String queue(Request request) {
    String queue = request.field("queue");
    if (queue == null) {
      throw new BadRequest("queue: missing (expected: a queue's name)");
    }
    return queue;
  }

  // ---------------------------------------------------------------------------------------------
  // Parameters

  private static TaskFilter filter(Request r) {
    return filter(r.query());
  }

  private static TaskFilter filter(Map<String, List<String>> values) {
    try {
      TaskFilter f = TaskFilter.all().withQueue(first(values, "queue")).withHandler(first(values, "handler"))
          .withErrorContains(first(values, "error"));
      List<String> states = values.getOrDefault("state", List.of());
      EnumSet<TaskState> chosen = EnumSet.noneOf(TaskState.class);
      for (String s : states) {
        if (!s.isBlank()) {
          try {
            chosen.add(TaskState.valueOf(s.strip().toUpperCase(Locale.ROOT)));
          } catch (IllegalArgumentException e) {
            throw new BadRequest("state: " + s + " (expected: one of " + EnumSet.complementOf(EnumSet.of(TaskState.NEW)) + ")");
          }
        }
      }
      return chosen.isEmpty() ? f : f.withStates(chosen.toArray(TaskState[]::new));
    } catch (BadRequest e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new BadRequest(e.getMessage());
    }
  }

  /** Adds the filter's fields as name, value pairs, for a form that repeats it. */
  private static void filterFields(TaskFilter f, List<String> fields) {
    if (f.queue() != null) {
      fields.addAll(List.of("queue", f.queue()));
    }
    for (TaskState s : f.states()) {
      fields.addAll(List.of("state", s.name()));
    }
    if (f.handler() != null) {
      fields.addAll(List.of("handler", f.handler()));
    }
    if (f.errorContains() != null) {
      fields.addAll(List.of("error", f.errorContains()));
    }
  }

  private static @Nullable String first(Map<String, List<String>> values, String name) {
    List<String> all = values.get(name);
    return all == null || all.isEmpty() || all.getFirst().isBlank() ? null : all.getFirst().strip();
  }

  private @Nullable Integer sourceParam(Request r) {
    String src = r.param("src");
    return src == null ? null : intParam(src, 0, 0, admins.size() - 1, "src");
  }

  private static int intParam(@Nullable String value, int otherwise, int min, int max, String name) {
    if (value == null) {
      return otherwise;
    }
    try {
      int n = Integer.parseInt(value);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException notANumber) {
      // the message below
    }
    throw new BadRequest(name + ": " + value + " (expected: " + min + " to " + max + ")");
  }

  // ---------------------------------------------------------------------------------------------
  // Formatting

  private static void state(Html html, TaskState state) {
    html.raw("<span class=\"state state-").raw(state.name()).raw("\">").text(state.name().toLowerCase(Locale.ROOT))
        .raw("</span>");
  }

  private void time(Html html, @Nullable Instant at) {
    if (at == null) {
      return;
    }
    Duration d = Duration.between(at, clock.instant());
    html.raw("<time").attr("datetime", at.toString()).attr("title", TIME.format(at)).raw(">")
        .text(d.isNegative() ? "in " + took(d.negated()) : ago(d)).raw("</time>");
  }

  private static String ago(Duration d) {
    return took(d) + " ago";
  }

  private static String took(Duration d) {
    long ms = Math.max(0, d.toMillis());
    if (ms < 1_000) {
      return ms + " ms";
    }
    if (ms < 120_000) {
      return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
    if (ms < 7_200_000) {
      return ms / 60_000 + " min";
    }
    if (ms < 172_800_000) {
      return ms / 3_600_000 + " h";
    }
    return ms / 86_400_000 + " d";
  }

  private static String shorten(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }

  /** A request refused for its parameters, with a message that names the parameter. */
  static final class BadRequest extends RuntimeException {
    BadRequest(String message) {
      super(message, null, false, false);
    }
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

  /** One request's page: its links, its forms and its frame. */
  final class View {
    final Request request;
    final String base;
    final String csrfToken;
    final boolean writable;

    View(Request request, String csrfToken, boolean writable) {
      this.request = request;
      this.base = request.base();
      this.csrfToken = csrfToken;
      this.writable = writable;
    }

    /** A link to a page of the console with query parameters (name, value pairs; null values left out). */
    String link(String path, @Nullable String... pairs) {
      StringBuilder b = new StringBuilder(base).append(path);
      char sep = '?';
      for (int i = 0; i + 1 < pairs.length; i += 2) {
        if (pairs[i + 1] != null) {
          b.append(sep).append(Html.url(pairs[i])).append('=').append(Html.url(pairs[i + 1]));
          sep = '&';
        }
      }
      return b.toString();
    }

    /** This page's link with one parameter replaced (or removed, if {@code value} is null). */
    String self(String name, @Nullable String value) {
      List<String> pairs = new ArrayList<>();
      request.query().forEach((k, values) -> {
        if (!k.equals(name) && !k.equals("notice")) {
          values.forEach(v -> {
            pairs.add(k);
            pairs.add(v);
          });
        }
      });
      pairs.add(name);
      pairs.add(value);
      return link(request.path(), pairs.toArray(String[]::new));
    }

    /** This page's path and query below the base, for an action's way back. */
    String here() {
      String self = self("notice", null);
      return self.substring(base.length());
    }

    /** A one-button POST form of an action, with the CSRF token, the way back and hidden fields. */
    void form(Html html, String action, String label, @Nullable String confirm, String... fields) {
      html.raw("<form class=\"inline\" method=\"post\"").attr("action", base + "/actions/" + action);
      if (confirm != null) {
        html.attr("data-confirm", confirm);
      }
      html.raw("><input type=\"hidden\"").attr("name", Csrf.FIELD).attr("value", csrfToken).raw(">")
          .raw("<input type=\"hidden\" name=\"return\"").attr("value", here()).raw(">");
      for (int i = 0; i + 1 < fields.length; i += 2) {
        html.raw("<input type=\"hidden\"").attr("name", fields[i]).attr("value", fields[i + 1]).raw(">");
      }
      html.raw("<button type=\"submit\"").attr("class", action.equals("delete") || action.equals("cancel") ? "danger" : null)
          .attr("data-action", action).raw(">").text(label).raw("</button></form>");
    }

    Response page(int status, String title, java.util.function.Consumer<Html> live) {
      return page(status, title, top -> {}, live);
    }

    /**
     * The page: its frame, {@code top} (not refreshed: filter forms) and {@code live} (refreshed in
     * place). A request with {@code X-Loomwork-Fragment: live} gets the live part alone.
     */
    Response page(int status, String title, java.util.function.Consumer<Html> top, java.util.function.Consumer<Html> live) {
      Html html = new Html();
      boolean fragment = "live".equals(request.header("X-Loomwork-Fragment"));
      if (!fragment) {
        html.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
            .text(title + " · loomwork").raw("</title><link rel=\"stylesheet\"").attr("href", base + "/assets/console.css")
            .raw("><script defer").attr("src", base + "/assets/console.js").raw("></script></head><body")
            .attr("data-refresh-ms", refresh.toMillis()).raw("><header><span class=\"brand\">loomwork</span><nav>");
        nav(html, "/", "Queues");
        nav(html, "/tasks", "Tasks");
        nav(html, "/workers", "Workers");
        html.raw("</nav><span class=\"mode\" id=\"mode\">").text(writable ? "actions enabled" : "read-only")
            .raw("</span><button type=\"button\" id=\"refresh-toggle\">Auto-refresh: on</button></header><main><h1>")
            .text(title).raw("</h1>");
        String notice = notices.get(request.param("notice"));
        if (notice != null) {
          html.raw("<p class=\"notice\" id=\"notice\" role=\"status\">").text(notice).raw("</p>");
        }
        top.accept(html);
      }
      html.raw("<section id=\"live\">");
      live.accept(html);
      html.raw("<p class=\"muted updated\">").text("Updated " + TIME.format(clock.instant().truncatedTo(ChronoUnit.SECONDS)))
          .raw("</p></section>");
      if (!fragment) {
        html.raw("</main></body></html>");
      }
      return Response.html(status, html.toString());
    }

    private void nav(Html html, String path, String label) {
      html.raw("<a").attr("href", base + path).attr("class", request.path().equals(path)
          || (path.equals("/tasks") && request.path().equals("/task")) ? "here" : null).raw(">").text(label).raw("</a>");
    }
  }
}
