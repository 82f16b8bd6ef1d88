package dev.loomwork.console;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The outcome of an action, shown once on the page the browser returns to. The redirect after an
 * action carries only a random key; the text stays here. So a link made elsewhere cannot put words of
 * its own on the console's page (a key nobody made shows nothing). Keeps the last
 * {@value #KEPT} outcomes. Thread-safe: every method holds this object's lock, briefly.
 */
final class Notices {
  static final int KEPT = 256;

  private final SecureRandom random;

  /** Guarded by {@code this}. */
  private final Map<String, String> texts = new LinkedHashMap<>(KEPT * 2, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > KEPT;
    }
  };

  Notices(SecureRandom random) {
    this.random = random;
  }

  /** Keeps {@code text} and returns its key, for the redirect's query. */
  String put(String text) {
    byte[] key = new byte[12];
    random.nextBytes(key);
    String k = HexFormat.of().formatHex(key);
    synchronized (this) {
      texts.put(k, text);
    }
    return k;
  }

  /** The text kept under {@code key}, or null. */
  synchronized @Nullable String get(@Nullable String key) {
    return key == null ? null : texts.get(key);
  }
}
