package dev.loomwork.postgres;

import org.jspecify.annotations.Nullable;

/** Errors as JSON: the {@code last_error} of a failed attempt. */
final class PostgresErrorJson {

  private PostgresErrorJson() {}

  /**
   * The {@code last_error} JSON of a failed attempt: {@code {"type", "message", "stack", "attempt",
   * "worker"}}. NUL characters, which {@code jsonb} refuses, become U+FFFD.
   *
   * @param type the error's class name
   * @param message its message, or null
   * @param stack its stack trace, truncated by the caller, or null
   */
  static String errorJson(String type, @Nullable String message, @Nullable String stack, int attempt, long worker) {
    StringBuilder s = new StringBuilder(64 + (stack == null ? 0 : stack.length()));
    s.append("{\"type\":");
    jsonString(s, type);
    s.append(",\"message\":");
    jsonString(s, message);
    s.append(",\"stack\":");
    jsonString(s, stack);
    s.append(",\"attempt\":").append(attempt);
    s.append(",\"worker\":").append(worker);
    return s.append('}').toString();
  }

  /** Appends a JSON string literal (or null), escaping what JSON requires and nothing more. */
  static void jsonString(StringBuilder s, @Nullable String text) {
    if (text == null) {
      s.append("null");
      return;
    }
    s.append('"');
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      switch (ch) {
        case '"' -> s.append("\\\"");
        case '\\' -> s.append("\\\\");
        case '\n' -> s.append("\\n");
        case '\r' -> s.append("\\r");
        case '\t' -> s.append("\\t");
        case 0 -> s.append('\ufffd');
        default -> {
          if (ch < 0x20) {
            s.append(String.format("\\u%04x", (int) ch));
          } else {
            s.append(ch);
          }
        }
      }
    }
    s.append('"');
  }
}
