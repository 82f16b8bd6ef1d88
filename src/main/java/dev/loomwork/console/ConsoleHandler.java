package dev.loomwork.console;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console's HTTP front: routes a request to a page, an action or an asset, and applies the
 * security rules to every answer.
 *
 * <ul>
 *   <li>Only the console's own paths are served, matched on the raw path as a whole: the pages
 *       ({@code /}, {@code /tasks}, {@code /task}, {@code /workers}), the actions below
 *       {@code /actions/} and the assets of {@link Assets}, by exact name. Nothing is looked up by a
 *       name taken from the request, so {@code /assets/../} and its encodings are simply not found.
 *   <li>{@code GET} only reads. A state-changing request is a {@code POST} to {@code /actions/...}
 *       with a urlencoded form of at most {@value #MAX_FORM_BYTES} bytes that carries the CSRF token
 *       ({@link Csrf}); a browser's {@code Sec-Fetch-Site} header, when present, must say
 *       same-origin. Then the {@link ConsoleAuthorizer} decides; without one, the console is
 *       read-only. Every refusal is a 403.
 *   <li>Every answer carries a strict Content-Security-Policy (scripts, styles and fetches from the
 *       console itself only: no inline script, no inline style, no frame may embed it),
 *       {@code X-Content-Type-Options: nosniff}, {@code Referrer-Policy: no-referrer} and
 *       {@code Cache-Control: no-store}.
 * </ul>
 *
 * <p>Thread-safe: it keeps no state per request; the HTTP server may call it concurrently.
 */
final class ConsoleHandler implements HttpHandler {
  private static final Logger log = LoggerFactory.getLogger(ConsoleHandler.class);

  static final int MAX_FORM_BYTES = 16 * 1024;

  static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
      + " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

  private final Pages pages;
  private final Csrf csrf;
  private final @Nullable ConsoleAuthorizer authorizer;

  ConsoleHandler(Pages pages, Csrf csrf, @Nullable ConsoleAuthorizer authorizer) {
    this.pages = pages;
    this.csrf = csrf;
    this.authorizer = authorizer;
  }

  /** The console's CSRF token (its pages carry it in their forms). */
  String csrfToken() {
    return csrf.token();
  }

  /** Whether the console was given no authoriser. */
  boolean readOnly() {
    return authorizer == null;
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      Response response;
      try {
        response = answer(exchange);
      } catch (RuntimeException e) {
        log.warn("console: {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(), e);
        response = Response.text(500, "the console failed to answer; see the application's log");
      }
      send(exchange, response);
    }
  }

  private Response answer(HttpExchange exchange) throws IOException {
    String context = exchange.getHttpContext().getPath();
    String base = context.endsWith("/") ? context.substring(0, context.length() - 1) : context;
    String rawPath = exchange.getRequestURI().getRawPath();
    if (rawPath == null || !rawPath.startsWith(base)) {
      return Response.text(404, "not found");
    }
    String path = rawPath.substring(base.length());
    if (path.isEmpty()) {
      path = "/";
    }
    if (!path.startsWith("/")) { // the context /loomwork also receives /loomworkx
      return Response.text(404, "not found");
    }
    String method = exchange.getRequestMethod().toUpperCase(Locale.ROOT);
    Map<String, List<String>> query;
    Map<String, List<String>> form = Map.of();
    try {
      query = Request.decode(exchange.getRequestURI().getRawQuery());
      if (method.equals("POST")) {
        String type = exchange.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
          return Response.text(415, "a POST to the console is an application/x-www-form-urlencoded form");
        }
        byte[] body = readAtMost(exchange.getRequestBody(), MAX_FORM_BYTES);
        if (body == null) {
          return Response.text(413, "a form of the console has at most " + MAX_FORM_BYTES + " bytes");
        }
        form = Request.decode(new String(body, StandardCharsets.UTF_8));
      }
    } catch (IllegalArgumentException malformed) {
      return Response.text(400, "malformed query or form: " + malformed.getMessage());
    }
    var user = exchange.getPrincipal();
    Request request = new Request(method, base, path, query, form, exchange.getRequestHeaders(),
        exchange.getRemoteAddress(), user == null ? null : user.getUsername());
    return route(request);
  }

  /** Routes a request; the security checks of state-changing requests happen here. */
  Response route(Request request) {
    String path = request.path();
    String asset = Assets.NAMES.get(path);
    boolean isPage = Pages.ROUTES.contains(path);
    boolean isAction = path.startsWith("/actions/");
    if (asset == null && !isPage && !isAction) {
      return Response.text(404, "not found");
    }
    if (!isAction) {
      if (!request.method().equals("GET")) {
        return withAllow(Response.text(405, "method not allowed: this path answers GET only"), "GET");
      }
      return asset != null ? Assets.serve(asset) : pages.get(request, csrf.token(), authorizer != null);
    }
    ConsoleAction.Kind kind = Actions.BY_NAME.get(path.substring("/actions/".length()));
    if (kind == null) {
      return Response.text(404, "not found");
    }
    if (!request.method().equals("POST")) {
      return withAllow(Response.text(405, "method not allowed: an action is a POST of the console's form"), "POST");
    }
    String site = request.header("Sec-Fetch-Site");
    if (site != null && !site.equals("same-origin") && !site.equals("none")) {
      return Response.text(403, "refused: a state-changing request must come from the console's own pages");
    }
    if (!csrf.matches(request.field(Csrf.FIELD))) {
      return Response.text(403, "refused: the CSRF token is missing or wrong; reload the console's page and try again");
    }
    if (authorizer == null) {
      return Response.text(403, "refused: the console is read-only (the application gave it no authoriser)");
    }
    ConsoleAction action = new ConsoleAction(kind, Actions.target(kind, request), request.remote(), request.principal(),
        request.headers());
    boolean allowed;
    try {
      allowed = authorizer.allows(action);
    } catch (RuntimeException e) {
      log.warn("console: the authoriser threw on {}; refused", action, e);
      allowed = false;
    }
    if (!allowed) {
      return Response.text(403, "refused by the application's authoriser: " + kind);
    }
    return pages.act(kind, request);
  }

  private static Response withAllow(Response r, String allow) {
    return new Response(r.status(), r.contentType(), r.body(), Map.of("Allow", allow));
  }

  /** Reads the body, or returns null if it has more than {@code limit} bytes. */
  private static byte @Nullable [] readAtMost(InputStream in, int limit) throws IOException {
    byte[] body = in.readNBytes(limit + 1);
    return body.length > limit ? null : body;
  }

  private static void send(HttpExchange exchange, Response response) throws IOException {
    var h = exchange.getResponseHeaders();
    h.set("Content-Type", response.contentType());
    h.set("Content-Security-Policy", CSP);
    h.set("X-Content-Type-Options", "nosniff");
    h.set("X-Frame-Options", "DENY");
    h.set("Referrer-Policy", "no-referrer");
    h.set("Cache-Control", "no-store");
    response.headers().forEach(h::set);
    boolean head = exchange.getRequestMethod().equalsIgnoreCase("HEAD");
    byte[] body = response.body();
    exchange.sendResponseHeaders(response.status(), head || body.length == 0 ? -1 : body.length);
    if (!head && body.length > 0) {
      exchange.getResponseBody().write(body);
    }
  }
}
