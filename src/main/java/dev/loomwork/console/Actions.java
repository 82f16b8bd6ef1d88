package dev.loomwork.console;

import dev.loomwork.admin.QueueAdmin;
import dev.loomwork.admin.StoreAdmin;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The console's state-changing actions ({@code POST /actions/NAME}) on a durable store's tasks and
 * queues: what each is on (for the authoriser), performing it, and the redirect back to the page it
 * came from with a {@link Notices notice} of the outcome. The handler has checked the method, the
 * CSRF token and the authoriser before {@link #act} is called. Thread-safe: it keeps nothing but its
 * admins, the {@link QueueSampler} and the {@link Notices}, which are.
 */
final class Actions {
  /** The action names of {@code /actions/NAME}. */
  static final Map<String, ConsoleAction.Kind> BY_NAME = Map.of(
      "retry", ConsoleAction.Kind.RETRY,
      "retry-matching", ConsoleAction.Kind.RETRY_MATCHING,
      "cancel", ConsoleAction.Kind.CANCEL,
      "delete", ConsoleAction.Kind.DELETE,
      "pause", ConsoleAction.Kind.PAUSE,
      "resume", ConsoleAction.Kind.RESUME);

  /** A page to go back to after an action: one of the console's own, with any query. */
  private static final Pattern RETURN_PATH = Pattern.compile("/(tasks|task|workers)?(\\?[^\\\\#\\s]*)?");

  private final List<QueueAdmin> admins;
  private final QueueSampler sampler;
  private final Notices notices;

  Actions(List<QueueAdmin> admins, QueueSampler sampler, Notices notices) {
    this.admins = admins;
    this.sampler = sampler;
    this.notices = notices;
  }

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
        case RETRY_MATCHING -> store.retryAll(Params.filter(request.form())) + " task(s) retried.";
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
      Pages.log.info("console: {} {}: {}", kind, target(kind, request), notice);
      return Response.redirect(location + (location.contains("?") ? "&" : "?") + "notice=" + notices.put(notice));
    } catch (BadRequest | IllegalArgumentException e) {
      return Response.text(400, "bad request: " + e.getMessage());
    } catch (SQLException e) {
      Pages.log.warn("console: {} failed: the store refused", kind, e);
      return Response.text(503, "the store refused: " + e.getMessage());
    }
  }

  private StoreAdmin storeOf(Request request) {
    String src = request.field("src");
    int i = src == null ? -1 : Params.intParam(src, -1, 0, admins.size() - 1, "src");
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
}
