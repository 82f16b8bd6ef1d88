package dev.loomwork.console;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * A page being written. Markup goes in through {@link #raw}, which only ever receives the console's
 * own constant markup; every value that comes from a task, a queue, a worker, an error or a request
 * goes in through {@link #text} or {@link #attr}, which escape it. So a payload of
 * {@code <img src=x onerror=alert(1)>} is shown as that text, never parsed as a tag. Not thread-safe:
 * one per response.
 */
final class Html {
  private final StringBuilder out = new StringBuilder(8192);

  /** Appends the console's own markup, unescaped: never pass a value that did not come from the code. */
  Html raw(String markup) {
    out.append(markup);
    return this;
  }

  /** Appends a value as text: {@code & < > " '} escaped. */
  Html text(@org.jspecify.annotations.Nullable Object value) {
    escapeInto(out, value == null ? "" : String.valueOf(value));
    return this;
  }

  /** Appends {@code  name="value"} with the value escaped; nothing if the value is null. */
  Html attr(String name, @org.jspecify.annotations.Nullable Object value) {
    if (value == null) {
      return this;
    }
    out.append(' ').append(name).append("=\"");
    escapeInto(out, String.valueOf(value));
    out.append('"');
    return this;
  }

  /** Appends {@code <tag>text</tag>}, the text escaped. */
  Html element(String tag, @org.jspecify.annotations.Nullable Object text) {
    out.append('<').append(tag).append('>');
    text(text);
    out.append("</").append(tag).append('>');
    return this;
  }

  /** Returns the escaped form of {@code value}, for text and for quoted attribute values. */
  static String escape(String value) {
    StringBuilder b = new StringBuilder(value.length() + 16);
    escapeInto(b, value);
    return b.toString();
  }

  private static void escapeInto(StringBuilder b, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
  }

  /** Percent-encodes a query parameter's value. */
  static String url(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return out.toString();
  }
}
