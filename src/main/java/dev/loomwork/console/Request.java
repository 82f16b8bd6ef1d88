package dev.loomwork.console;

import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One request to the console, independent of the HTTP server that received it.
 *
 * @param method the HTTP method, upper case
 * @param base where the console is mounted: {@code ""} at the root, else a path such as
 *     {@code /loomwork}, without a trailing slash; every link of a page starts with it
 * @param path the raw (still percent-encoded) path below {@code base}, starting with {@code /}
 * @param query the query string's parameters, decoded
 * @param form a POST's form fields, decoded (empty for other methods)
 * @param headers the request's headers (names in any case)
 * @param remote the peer's address, or null if the server did not say
 * @param principal the user an authenticator of the server let in, or null
 */
record Request(
    String method,
    String base,
    String path,
    Map<String, List<String>> query,
    Map<String, List<String>> form,
    Map<String, List<String>> headers,
    @Nullable InetSocketAddress remote,
    @Nullable String principal) {

  /** The first value of query parameter {@code name}, or null; blank counts as absent. */
  @Nullable String param(String name) {
    return first(query, name);
  }

  /** The first value of form field {@code name}, or null; blank counts as absent. */
  @Nullable String field(String name) {
    return first(form, name);
  }

  /** The first value of header {@code name} (any case), or null. */
  @Nullable String header(String name) {
    for (Map.Entry<String, List<String>> e : headers.entrySet()) {
      if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
        return e.getValue().getFirst();
      }
    }
    return null;
  }

  private static @Nullable String first(Map<String, List<String>> values, String name) {
    List<String> all = values.get(name);
    if (all == null || all.isEmpty() || all.getFirst().isBlank()) {
      return null;
    }
    return all.getFirst().strip();
  }

  /**
   * Decodes {@code a=1&b=x%20y} (a query string or a urlencoded form).
   *
   * @throws IllegalArgumentException if an escape is malformed
   */
  static Map<String, List<String>> decode(@Nullable String raw) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }
    return out;
  }
}
