package dev.loomwork.console;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One answer of the console, independent of the HTTP server that sends it. The security headers are
 * added to every answer by {@link ConsoleHandler}, not here.
 *
 * @param status the HTTP status
 * @param contentType the body's media type
 * @param body the body
 * @param headers further headers (such as {@code Location})
 */
record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
  static final String HTML = "text/html; charset=utf-8";
  static final String TEXT = "text/plain; charset=utf-8";

  static Response html(int status, String page) {
    return new Response(status, HTML, page.getBytes(StandardCharsets.UTF_8), Map.of());
  }

  static Response text(int status, String message) {
    return new Response(status, TEXT, (message + "\n").getBytes(StandardCharsets.UTF_8), Map.of());
  }

  static Response redirect(String location) {
    return new Response(303, TEXT, new byte[0], Map.of("Location", location));
  }
}
