package dev.loomwork.internal;

import dev.loomwork.TaskSnapshot;
import java.io.IOException;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * Writes task snapshots as JSON Lines: one JSON object per line, for an operator to review or a tool
 * to load. Hand-written rather than a JSON library: the shape is flat and fixed, and the only subtle
 * part, string escaping, is a dozen lines.
 *
 * <p>Output is pure ASCII: quotes, backslashes and control characters get their JSON escapes, and
 * everything outside printable ASCII is written as {@code \\uXXXX} (a supplementary character as
 * its surrogate pair), so the file survives any encoding and any terminal.
 */
public final class JsonLines {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private JsonLines() {}

  /**
   * Appends one line for {@code task}.
   *
   * @param out where to write
   * @param task the task
   * @param outcome what the shutdown did to it: {@code "cancelled"} or {@code "abandoned"}
   * @throws IOException if {@code out} throws
   */
  public static void write(Appendable out, TaskSnapshot task, String outcome) throws IOException {
    Throwable error = task.lastError();
    Instant next = task.nextAttemptAt();
    out.append("{\"queue\":");
    string(out, task.queue());
    out.append(",\"task\":");
    string(out, task.name());
    out.append(",\"outcome\":");
    string(out, outcome);
    out.append(",\"state\":");
    string(out, task.state().name());
    out.append(",\"attempts\":").append(Integer.toString(task.attempts()));
    out.append(",\"errorType\":");
    string(out, error == null ? null : error.getClass().getName());
    out.append(",\"errorMessage\":");
    string(out, error == null ? null : error.getMessage());
    out.append(",\"nextAttemptAt\":");
    string(out, next == null ? null : next.toString());
    out.append("}\n");
  }

  static void string(Appendable out, @Nullable String s) throws IOException {
    if (s == null) {
      out.append("null");
      return;
    }
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20 || c > 0x7e) {
            out.append("\\u")
                .append(HEX[(c >> 12) & 0xf])
                .append(HEX[(c >> 8) & 0xf])
                .append(HEX[(c >> 4) & 0xf])
                .append(HEX[c & 0xf]);
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
