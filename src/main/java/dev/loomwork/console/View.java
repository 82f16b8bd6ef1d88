package dev.loomwork.console;

import java.time.Clock;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One request's page: its links, its action forms and its frame (the header, the navigation, the
 * notice, the live part that the page's script refreshes in place). Made per request; not
 * thread-safe, and never shared.
 */
final class View {
  final Request request;
  final String base;
  final String csrfToken;
  final boolean writable;
  private final Notices notices;
  private final Clock clock;
  private final Duration refresh;

  View(Request request, String csrfToken, boolean writable, Notices notices, Clock clock, Duration refresh) {
    this.request = request;
    this.base = request.base();
    this.csrfToken = csrfToken;
    this.writable = writable;
    this.notices = notices;
    this.clock = clock;
    this.refresh = refresh;
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

  Response page(int status, String title, Consumer<Html> live) {
    return page(status, title, top -> {}, live);
  }

  /**
   * The page: its frame, {@code top} (not refreshed: filter forms) and {@code live} (refreshed in
   * place). A request with {@code X-Loomwork-Fragment: live} gets the live part alone.
   */
  Response page(int status, String title, Consumer<Html> top, Consumer<Html> live) {
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
    html.raw("<p class=\"muted updated\">").text("Updated " + Formats.TIME.format(clock.instant().truncatedTo(ChronoUnit.SECONDS)))
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
