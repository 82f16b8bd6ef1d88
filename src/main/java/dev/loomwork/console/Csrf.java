package dev.loomwork.console;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * The console's CSRF token: an HMAC-SHA256, under a secret drawn once per console from a
 * {@link SecureRandom}, of a fixed label. Every form of the console carries it in a hidden field; a
 * state-changing request without it, or with another value, is refused. A page of another site cannot
 * read it (the same-origin policy keeps the console's pages from it), so it cannot forge a request
 * that carries it. Checked in constant time ({@link MessageDigest#isEqual}), so the answer's timing
 * tells nothing about how much of a guess was right. Immutable and thread-safe.
 */
final class Csrf {
  /** The form field that carries the token. */
  static final String FIELD = "csrf";

  private final byte[] token;
  private final String encoded;

  Csrf(SecureRandom random) {
    byte[] secret = new byte[32];
    random.nextBytes(secret);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      this.token = mac.doFinal("loomwork-console-csrf".getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
    }
    this.encoded = Base64.getUrlEncoder().withoutPadding().encodeToString(token);
  }

  /** The token, as forms carry it. */
  String token() {
    return encoded;
  }

  /** Whether {@code candidate} is the token; null and malformed values are not. Constant time in the token. */
  boolean matches(@Nullable String candidate) {
    if (candidate == null) {
      return false;
    }
    byte[] given;
    try {
      given = Base64.getUrlDecoder().decode(candidate);
    } catch (IllegalArgumentException notBase64) {
      return false;
    }
    return MessageDigest.isEqual(token, given);
  }
}
