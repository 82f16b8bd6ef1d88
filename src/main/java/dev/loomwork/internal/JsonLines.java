package dev.loomwork.internal;

import dev.loomwork.ShutdownReport;
import dev.loomwork.TaskSnapshot;
import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Writes task snapshots as JSON Lines, one JSON object per line, for an operator to review and for
 * {@code WorkQueue.requeue} to read back. Hand-written rather than a JSON library (loomwork depends on
 * none): the shape is flat and fixed, so writing is string escaping, and reading is a strict reader
 * of flat objects.
 *
 * <p>Output is pure ASCII: quotes, backslashes and control characters get their JSON escapes, and
 * everything outside printable ASCII is written as {@code \\uXXXX} (a supplementary character as
 * its surrogate pair), so the file survives any encoding and any terminal.
 */
public final class JsonLines {
  private JsonLines() {}

  /**
   * Appends one line for {@code task}.
   *
   * @param out where to write
   * @param report the report the task is in
   * @param task the task
   * @param outcome what the shutdown did to it: {@code "cancelled"} or {@code "abandoned"}
   * @throws IOException if {@code out} throws
   */
  public static void write(Appendable out, ShutdownReport report, TaskSnapshot task, String outcome)
      throws IOException {
    Throwable error = task.lastError();
    Instant next = task.nextAttemptAt();
    field(out, '{', "reportedAt", report.reportedAt().toString());
    field(out, ',', "instance", report.instance());
    field(out, ',', "queue", task.queue());
    field(out, ',', "id", task.id());
    field(out, ',', "task", task.name());
    field(out, ',', "handler", task.handler());
    field(out, ',', "payload", task.payload());
    field(out, ',', "outcome", outcome);
    field(out, ',', "state", task.state().name());
    out.append(",\"attempts\":").append(Integer.toString(task.attempts()));
    field(out, ',', "errorType", error == null ? null : error.getClass().getName());
    field(out, ',', "errorMessage", error == null ? null : error.getMessage());
    field(out, ',', "nextAttemptAt", next == null ? null : next.toString());
    out.append("}\n");
  }

  private static void field(Appendable out, char before, String name, @Nullable String value)
      throws IOException {
    out.append(before).append('"').append(name).append("\":");
    string(out, value);
  }

  /**
   * Reads one line written by {@link #write}: a flat JSON object whose values are strings, numbers,
   * booleans or null. Strict, so that a damaged report is noticed rather than half read.
   *
   * @param line the line, without its line terminator
   * @return the fields, in order; numbers and booleans as their text
   * @throws IllegalArgumentException if the line is not such an object, saying where and why
   */
  public static Map<String, @Nullable String> read(String line) {
    return new Reader(line).object();
  }

  /** A reader of one flat JSON object. */
  private static final class Reader {
    private final String s;
    private int i;

    Reader(String s) {
      this.s = s;
    }

    Map<String, @Nullable String> object() {
      Map<String, @Nullable String> fields = new LinkedHashMap<>();
      space();
      expect('{');
      space();
      if (peek() == '}') {
        i++;
      } else {
        while (true) {
          space();
          String name = string();
          space();
          expect(':');
          space();
          fields.put(name, value());
          space();
          char c = next();
          if (c == '}') {
            break;
          }
          if (c != ',') {
            throw error("expected ',' or '}' but found '" + c + "'", i - 1);
          }
        }
      }
      space();
      if (i < s.length()) {
        throw error("text after the object", i);
      }
      return fields;
    }

    private @Nullable String value() {
      char c = peek();
      if (c == '"') {
        return string();
      }
      int start = i;
      while (i < s.length() && "{}[]\",: \t".indexOf(s.charAt(i)) < 0) {
        i++;
      }
      String word = s.substring(start, i);
      if (word.equals("null")) {
        return null;
      }
      if (word.equals("true") || word.equals("false") || word.matches("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?")) {
        return word;
      }
      throw error(word.isEmpty() ? "expected a value" : "not a JSON value: '" + word + "'", start);
    }

    private String string() {
      expect('"');
      StringBuilder b = new StringBuilder();
      while (true) {
        char c = next();
        if (c == '"') {
          return b.toString();
        }
        if (c < 0x20) {
          throw error("a control character inside a string", i - 1);
        }
        if (c != '\\') {
          b.append(c);
          continue;
        }
        char e = next();
        switch (e) {
          case '"', '\\', '/' -> b.append(e);
          case 'n' -> b.append('\n');
          case 'r' -> b.append('\r');
          case 't' -> b.append('\t');
          case 'b' -> b.append('\b');
          case 'f' -> b.append('\f');
          case 'u' -> {
            if (i + 4 > s.length()) {
              throw truncated();
            }
            try {
              b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            } catch (NumberFormatException x) {
              throw error("a bad \\u escape", i - 2);
            }
            i += 4;
          }
          default -> throw error("a bad escape '\\" + e + "'", i - 2);
        }
      }
    }

    private void space() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
    }

    private char peek() {
      if (i >= s.length()) {
        throw truncated();
      }
      return s.charAt(i);
    }

    private char next() {
      char c = peek();
      i++;
      return c;
    }

    private void expect(char c) {
      char found = next();
      if (found != c) {
        throw error("expected '" + c + "' but found '" + found + "'", i - 1);
      }
    }

    private IllegalArgumentException truncated() {
      return new IllegalArgumentException("truncated: the line ends at column " + (s.length() + 1));
    }

    private IllegalArgumentException error(String what, int at) {
      return new IllegalArgumentException("not JSON: " + what + " at column " + (at + 1));
    }
  }

  static void string(Appendable out, @Nullable String s) throws IOException {
    JsonStrings.append(out, s, JsonStrings.Nul.ESCAPE);
  }
}
