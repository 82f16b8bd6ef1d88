package dev.loomwork.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The console's static files: a fixed table from a request path to a resource of this package. No
 * file name is ever taken from a request, so no other file can be served.
 */
final class Assets {
  /** Request path below the console's base to resource name in this package. */
  static final Map<String, String> NAMES = Map.of(
      "/assets/console.css", "console.css",
      "/assets/console.js", "console.js");

  private static final Map<String, Response> LOADED = Map.of(
      "console.css", load("console.css", "text/css; charset=utf-8"),
      "console.js", load("console.js", "text/javascript; charset=utf-8"));

  private Assets() {}

  static Response serve(String name) {
    Response r = LOADED.get(name);
    return r != null ? r : Response.text(404, "not found");
  }

  private static Response load(String name, String type) {
    try (InputStream in = Assets.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the console's asset " + name + " is missing from the jar");
      }
      return new Response(200, type, in.readAllBytes(), Map.of());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the console's asset " + name, e);
    }
  }
}
