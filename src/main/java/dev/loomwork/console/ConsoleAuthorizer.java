package dev.loomwork.console;

/**
 * Decides whether a state-changing request of the console (a retry, a cancel, a delete, a pause or a
 * resume) may proceed. A console built without one is read-only: it shows no action and answers every
 * state-changing request with 403. Reading pages never asks it.
 *
 * <p>It is called on the thread that serves the request, after the request's CSRF token was checked,
 * and never under a lock of loomwork's. An exception it throws refuses the request (403) and is
 * logged. Implementations must be thread-safe: requests are served concurrently.
 */
@FunctionalInterface
public interface ConsoleAuthorizer {
  /**
   * Returns whether {@code action} may proceed.
   *
   * @param action what the request asks for, who sent it and its headers (for a bearer token or a
   *     header set by an authenticating proxy)
   * @return true to let it proceed, false to refuse it with 403
   */
  boolean allows(ConsoleAction action);

  /**
   * Returns an authoriser that allows every action: for a console that only its own machine can
   * reach (the default address, 127.0.0.1) on a developer's machine, or behind a proxy that
   * authenticates every request. Anyone who can reach the console can then retry, cancel and delete
   * tasks and pause queues.
   *
   * @return an authoriser that always answers true
   */
  static ConsoleAuthorizer allowAll() {
    return action -> true;
  }
}
