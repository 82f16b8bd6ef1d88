package dev.loomwork.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.jspecify.annotations.Nullable;

/**
 * The one JSON string escaper of loomwork, for the shutdown report's lines ({@link JsonLines}) and
 * the PostgreSQL store's {@code last_error} column. Public only for that package; not exported.
 *
 * <p>Output is pure ASCII: quotes, backslashes and control characters get their JSON escapes, and
 * everything outside printable ASCII is written as {@code \\uXXXX} (a supplementary character as its
 * surrogate pair), so the text survives any encoding and any terminal. The two users differ only in
 * what they may not write, which is the {@link Nul} policy.
 */
public final class JsonStrings {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private JsonStrings() {}

  /** What becomes of the characters that some JSON readers refuse. */
  public enum Nul {
    /**
     * Escape every character, NUL as {@code \\u0000} and an unpaired surrogate as its own escape:
     * valid JSON text that gives back the Java string exactly. For files.
     */
    ESCAPE,
    /**
     * Write NUL and every unpaired surrogate as U+FFFD: PostgreSQL's {@code jsonb} refuses the
     * {@code \\u0000} escape (text cannot hold NUL) and an unpaired surrogate escape ("invalid
     * Unicode surrogate pair"), so a single such character in an error message would make the whole
     * batch of outcomes that carries it fail to write.
     */
    REPLACE
  }

  /**
   * Appends {@code s} as a JSON string literal, or {@code null} for null.
   *
   * @param out where to write
   * @param s the text, or null
   * @param nul what to do with NUL and unpaired surrogates
   * @throws IOException if {@code out} throws
   */
  public static void append(Appendable out, @Nullable String s, Nul nul) throws IOException {
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
          if (c >= 0x20 && c <= 0x7e) {
            out.append(c);
          } else if (nul == Nul.REPLACE && (c == 0 || unpaired(s, i))) {
            hex(out, '\ufffd');
          } else {
            hex(out, c);
          }
        }
      }
    }
    out.append('"');
  }

  /**
   * Appends {@code s} as a JSON string literal, or {@code null} for null, to a string builder.
   *
   * @see #append(Appendable, String, Nul)
   */
  public static void append(StringBuilder out, @Nullable String s, Nul nul) {
    try {
      append((Appendable) out, s, nul);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringBuilder never throws it
    }
  }

  private static boolean unpaired(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1));
    }
    if (Character.isLowSurrogate(c)) {
      return i == 0 || !Character.isHighSurrogate(s.charAt(i - 1));
    }
    return false;
  }

  private static void hex(Appendable out, char c) throws IOException {
    out.append("\\u")
        .append(HEX[(c >> 12) & 0xf])
        .append(HEX[(c >> 8) & 0xf])
        .append(HEX[(c >> 4) & 0xf])
        .append(HEX[c & 0xf]);
  }
}
