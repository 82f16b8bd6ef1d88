package dev.loomwork.console;

import dev.loomwork.TaskState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** How the pages show states, times and spans, and shorten long text. Stateless. */
final class Formats {
  /** A time in UTC, to the second. */
  static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  private Formats() {}

  /** A task state as a label styled by state. */
  static void state(Html html, TaskState state) {
    html.raw("<span class=\"state state-").raw(state.name()).raw("\">").text(state.name().toLowerCase(Locale.ROOT))
        .raw("</span>");
  }

  /** A time as "… ago" (or "in …"), with the exact time in its title; nothing if {@code at} is null. */
  static void time(Html html, @Nullable Instant at, Clock clock) {
    if (at == null) {
      return;
    }
    Duration d = Duration.between(at, clock.instant());
    html.raw("<time").attr("datetime", at.toString()).attr("title", TIME.format(at)).raw(">")
        .text(d.isNegative() ? "in " + took(d.negated()) : ago(d)).raw("</time>");
  }

  static String ago(Duration d) {
    return took(d) + " ago";
  }

  /** A span, in the largest unit that keeps it readable: ms, s (one decimal), min, h, d. */
  static String took(Duration d) {
    long ms = Math.max(0, d.toMillis());
    if (ms < 1_000) {
      return ms + " ms";
    }
    if (ms < 120_000) {
      return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
    if (ms < 7_200_000) {
      return ms / 60_000 + " min";
    }
    if (ms < 172_800_000) {
      return ms / 3_600_000 + " h";
    }
    return ms / 86_400_000 + " d";
  }

  static String shorten(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }
}
