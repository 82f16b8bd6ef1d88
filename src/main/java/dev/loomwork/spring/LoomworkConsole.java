package dev.loomwork.spring;

import dev.loomwork.console.Console;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.context.SmartLifecycle;

/**
 * The web console of a Spring Boot application, on a port of its own ({@code
 * loomwork.console.enabled=true}): started with the application, after its queues, and stopped at
 * its stop, before the queues drain.
 *
 * <p>It runs on its own JDK HTTP server, not in the servlet container: the console is a JDK {@code
 * HttpHandler}, and its own server keeps it on the loopback address while the application's port may
 * face the world. See {@code docs/spring.md}.
 *
 * <p>Thread-safe.
 */
public final class LoomworkConsole implements SmartLifecycle {
  /**
   * The console's phase: above {@link LoomworkQueues#PHASE}, so it starts after the queues and stops
   * before they drain, with the servers that take requests: a process that is stopping takes no
   * more operators' actions either. The drain is in the log; a durable queue's tasks stay in every
   * other process's console.
   */
  public static final int PHASE = LoomworkQueues.PHASE + 256;

  private final Supplier<Console> consoles;

  /** The running console; guarded by {@code this}. */
  private @Nullable Console console;

  /**
   * A console started by each {@link #start()} from {@code consoles}, since a stopped console cannot
   * start again.
   */
  LoomworkConsole(Supplier<Console> consoles) {
    this.consoles = Objects.requireNonNull(consoles, "consoles");
  }

  /**
   * Starts the console on its address and port ({@code loomwork.console.address} and {@code .port}).
   *
   * @throws UncheckedIOException if the address cannot be bound
   */
  @Override
  public synchronized void start() {
    if (console != null) {
      return;
    }
    Console c = consoles.get();
    try {
      c.start();
    } catch (IOException e) {
      throw new UncheckedIOException("loomwork.console: cannot serve the console: " + e.getMessage(), e);
    }
    console = c;
  }

  /** Stops the console's server: it stops accepting at once and gives requests in progress a second. */
  @Override
  public void stop() {
    Console c;
    synchronized (this) {
      c = console;
      console = null;
    }
    if (c != null) {
      c.close(); // outside the lock: it waits for the requests in progress
    }
  }

  @Override
  public synchronized boolean isRunning() {
    return console != null;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }

  /**
   * Returns the address the console is bound to, with the port it chose.
   *
   * @return the bound address
   * @throws IllegalStateException if the console is not running
   */
  public InetSocketAddress address() {
    return running().address();
  }

  /**
   * Returns the URL of the console's queues page.
   *
   * @return for example {@code http://127.0.0.1:8025/}
   * @throws IllegalStateException if the console is not running
   */
  public URI uri() {
    return running().uri();
  }

  private synchronized Console running() {
    if (console == null) {
      throw new IllegalStateException("the loomwork console is not running");
    }
    return console;
  }

  @Override
  public synchronized String toString() {
    return "LoomworkConsole[" + (console != null ? console : "stopped") + "]";
  }
}
