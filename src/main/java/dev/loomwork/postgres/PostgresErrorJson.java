package dev.loomwork.postgres;

import dev.loomwork.internal.JsonStrings;
import org.jspecify.annotations.Nullable;

/** Errors as JSON: the {@code last_error} of a failed attempt. */
final class PostgresErrorJson {

  /** Stack frames kept in a task's {@code last_error}. */
  static final int STACK_FRAMES = 20;

  /** The longest message kept, in characters ({@code AttemptRecord.MAX_MESSAGE}). */
  static final int MAX_MESSAGE = dev.loomwork.admin.AttemptRecord.MAX_MESSAGE;

  /** The longest stack trace kept, in characters ({@code AttemptRecord.MAX_STACK}). */
  static final int MAX_STACK = dev.loomwork.admin.AttemptRecord.MAX_STACK;

  private PostgresErrorJson() {}

  /**
   * The {@code last_error} JSON of an attempt that failed with {@code e}, its stack trace cut to
   * {@value #STACK_FRAMES} frames and {@value #MAX_STACK} characters, its message to {@value
   * #MAX_MESSAGE}.
   */
  static String errorJson(Throwable e, int attempt, long worker) {
    return errorJson(e.getClass().getName(), cut(e.getMessage(), MAX_MESSAGE), cut(stack(e), MAX_STACK), attempt, worker);
  }

  /** The text cut to {@code max} characters, the last of them an ellipsis; never a lone surrogate. */
  static @Nullable String cut(@Nullable String text, int max) {
    if (text == null || text.length() <= max) {
      return text;
    }
    int end = max - 1;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end) + "\u2026";
  }

  private static String stack(Throwable e) {
    StringBuilder s = new StringBuilder(e.toString());
    StackTraceElement[] frames = e.getStackTrace();
    for (int i = 0; i < Math.min(frames.length, STACK_FRAMES); i++) {
      s.append("\n\tat ").append(frames[i]);
    }
    if (frames.length > STACK_FRAMES) {
      s.append("\n\t... ").append(frames.length - STACK_FRAMES).append(" more");
    }
    return s.toString();
  }

  /**
   * The {@code last_error} JSON of a failed attempt: {@code {"type", "message", "stack", "attempt",
   * "worker"}}, in the escapes of {@link JsonStrings.Nul#REPLACE}: NUL and unpaired surrogates,
   * which {@code jsonb} refuses, become U+FFFD.
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

  /** Appends a JSON string literal (or null) that {@code jsonb} accepts: NUL becomes U+FFFD. */
  static void jsonString(StringBuilder s, @Nullable String text) {
    JsonStrings.append(s, text, JsonStrings.Nul.REPLACE);
  }
}
