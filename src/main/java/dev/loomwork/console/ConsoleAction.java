package dev.loomwork.console;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * A state-changing request of the console, as its {@link ConsoleAuthorizer} sees it: what it asks
 * for, on what, from where, with which headers. Immutable and thread-safe.
 */
public final class ConsoleAction {
  /** What a state-changing request asks for. */
  public enum Kind {
    /** Retry one failed or cancelled task. */
    RETRY,
    /** Retry every failed or cancelled task that matches a filter. */
    RETRY_MATCHING,
    /** Cancel one task that has not ended. */
    CANCEL,
    /** Delete one task. */
    DELETE,
    /** Pause a queue: its workers stop claiming tasks. */
    PAUSE,
    /** Resume a paused queue. */
    RESUME
  }

  private final Kind kind;
  private final String target;
  private final @Nullable InetSocketAddress remoteAddress;
  private final @Nullable String principal;
  private final Map<String, List<String>> headers;

  ConsoleAction(Kind kind, String target, @Nullable InetSocketAddress remoteAddress, @Nullable String principal,
      Map<String, List<String>> headers) {
    this.kind = Objects.requireNonNull(kind, "kind");
    this.target = Objects.requireNonNull(target, "target");
    this.remoteAddress = remoteAddress;
    this.principal = principal;
    TreeMap<String, List<String>> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach((name, values) -> copy.merge(name, List.copyOf(values), (a, b) -> {
      List<String> both = new java.util.ArrayList<>(a);
      both.addAll(b);
      return List.copyOf(both);
    }));
    this.headers = copy;
  }

  /**
   * Returns what the request asks for.
   *
   * @return the kind of action
   */
  public Kind kind() {
    return kind;
  }

  /**
   * Returns what the action is on: a task's id (for {@link Kind#RETRY}, {@link Kind#CANCEL} and
   * {@link Kind#DELETE}), a queue's name (for {@link Kind#PAUSE} and {@link Kind#RESUME}), or the
   * filter as a query string (for {@link Kind#RETRY_MATCHING}).
   *
   * @return the target, as the request named it
   */
  public String target() {
    return target;
  }

  /**
   * Returns the address the request came from, as the HTTP server saw it (a proxy's, behind one).
   *
   * @return the peer's address, or null if the server did not say
   */
  public @Nullable InetSocketAddress remoteAddress() {
    return remoteAddress;
  }

  /**
   * Returns the user the HTTP server authenticated: the name of the exchange's {@link
   * com.sun.net.httpserver.HttpPrincipal}, set by an {@link com.sun.net.httpserver.Authenticator} of
   * the context the console is served in ({@link Console.Builder#authenticator}, or the application's
   * own context when it mounts the console).
   *
   * @return the user's name, or null if no authenticator ran
   */
  public @Nullable String principal() {
    return principal;
  }

  /**
   * Returns the first value of a request header, such as {@code Authorization}.
   *
   * @param name the header's name, in any case
   * @return its first value, or null if the request has no such header
   * @throws NullPointerException if {@code name} is null
   */
  public @Nullable String header(String name) {
    Objects.requireNonNull(name, "name");
    List<String> values = headers.get(name);
    return values == null || values.isEmpty() ? null : values.getFirst();
  }

  @Override
  public String toString() {
    return "ConsoleAction[" + kind + " " + target + " from " + remoteAddress
        + (principal == null ? "" : " as " + principal) + "]";
  }
}
