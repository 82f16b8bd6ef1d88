package dev.loomwork.console;

import dev.loomwork.admin.QueueAdmin;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console's pages and actions, over the admins it was given: routes a request to its page or
 * action. Every page is rendered on the server, with every value from a task, a queue, a worker or
 * the request escaped by {@link Html}. A page's live part ({@code <section id="live">}) is also served
 * alone, for the page's script to refresh it in place.
 *
 * <p>The pages, one class each: {@link QueuesPage} ({@code /}), {@link TaskListPage} ({@code
 * /tasks}), {@link TaskDetailPage} ({@code /task}), {@link WorkersPage} ({@code /workers}); each
 * renders into the frame of a {@link View}, with {@link Params} and {@link Formats}. The actions are
 * {@link Actions}.
 *
 * <p>Admins are numbered in the order the console was given them; links and forms name a task by
 * that number ({@code src}) and its id, so no request needs a search across admins. Thread-safe: its
 * only state is the {@link QueueSampler} and the {@link Notices}, which are.
 */
final class Pages {
  /** The log of the pages and the actions. */
  static final Logger log = LoggerFactory.getLogger(Pages.class);

  /** The page paths below the console's base. */
  static final Set<String> ROUTES = Set.of("/", "/tasks", "/task", "/workers");

  private final Notices notices;
  private final Clock clock;
  private final Duration refresh;
  private final QueuesPage queues;
  private final TaskListPage tasks;
  private final TaskDetailPage task;
  private final WorkersPage workers;
  private final Actions actions;

  Pages(List<QueueAdmin> admins, Clock clock, Duration refresh, SecureRandom random) {
    List<QueueAdmin> numbered = List.copyOf(admins);
    QueueSampler sampler = new QueueSampler(numbered, clock);
    this.notices = new Notices(random);
    this.clock = clock;
    this.refresh = refresh;
    this.queues = new QueuesPage(numbered, sampler);
    this.tasks = new TaskListPage(numbered, sampler, clock);
    this.task = new TaskDetailPage(numbered, clock);
    this.workers = new WorkersPage(numbered, sampler, clock);
    this.actions = new Actions(numbered, sampler, notices);
  }

  /** Answers a GET of one of {@link #ROUTES}. */
  Response get(Request request, String csrfToken, boolean writable) {
    View view = new View(request, csrfToken, writable, notices, clock, refresh);
    try {
      return switch (request.path()) {
        case "/tasks" -> tasks.render(view);
        case "/task" -> task.render(view);
        case "/workers" -> workers.render(view);
        default -> queues.render(view);
      };
    } catch (BadRequest e) {
      return view.page(400, "Bad request", live -> live.raw("<p class=\"error\">").text(e.getMessage()).raw("</p>"));
    } catch (SQLException e) {
      log.warn("console: the store refused {}", request.path(), e);
      return view.page(503, "The store did not answer", live -> live.raw("<p class=\"error\">")
          .text("The database refused or did not answer: " + e.getMessage()).raw("</p>"));
    }
  }

  /**
   * Performs a state-changing action and sends the browser back to the page it came from (see
   * {@link Actions#act}).
   */
  Response act(ConsoleAction.Kind kind, Request request) {
    return actions.act(kind, request);
  }
}
