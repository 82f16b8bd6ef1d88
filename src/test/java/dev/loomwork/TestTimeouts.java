package dev.loomwork;

import java.time.Duration;

/**
 * The suite's one generous timeout: how long a test waits for something that should happen at once
 * (a task to finish, a latch to open, a listener event), and the bound of "at once" where a test
 * times an operation. Everything it guards takes milliseconds, so a slow, loaded machine never comes
 * near it; reaching it means a hang. The hang guard of a whole test is {@code
 * junit.jupiter.execution.timeout.default} in {@code junit-platform.properties}.
 */
public final class TestTimeouts {
  /** The generous timeout. */
  public static final Duration GENEROUS = Duration.ofSeconds(30);

  /**
   * The hang guard of what is not "at once": a child JVM starting, or thousands of durable tasks
   * worked off by child processes. On a loaded 2-core machine a child JVM has taken more than 30 s
   * to print its first line, and 10,000 durable tasks more than a minute.
   */
  public static final Duration PROCESS = Duration.ofMinutes(2);

  /** {@link #GENEROUS} in seconds, for the {@code (long, TimeUnit)} APIs. */
  public static final long GENEROUS_SECONDS = GENEROUS.toSeconds();

  private TestTimeouts() {}
}
