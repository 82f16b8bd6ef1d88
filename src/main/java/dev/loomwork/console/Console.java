package dev.loomwork.console;

import com.sun.net.httpserver.Authenticator;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.loomwork.admin.QueueAdmin;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console: pages over the queues of the admins it is given (queues, tasks, a task with its
 * attempts, workers) and, if the application gives it an authoriser, the actions on them (retry,
 * retry everything matching a filter, cancel, delete, pause and resume a queue). Server-rendered
 * HTML, one style sheet and one small script of its own, served by the JDK's HTTP server
 * ({@code jdk.httpserver}): no other dependency.
 *
 * <pre>{@code
 * Console console = Console.builder()
 *     .admin(store.admin())                    // a durable store's queues
 *     .admin(MemoryAdmin.of(emails, webhooks)) // queues in this process's memory
 *     .port(8025)
 *     .build();
 * console.start();                             // http://127.0.0.1:8025/
 * }</pre>
 *
 * <p>Safe by default: it serves nothing until {@link #start()} is called or its {@link #handler()} is
 * mounted; {@link #start()} binds 127.0.0.1 unless told another address; without an {@link
 * Builder#authorizer authoriser} it is read-only; a state-changing request is a POST that carries the
 * console's CSRF token; every value is HTML-escaped; every answer carries a strict
 * Content-Security-Policy. See {@code docs/console.md}.
 *
 * <p>Thread-safe. {@link #start()} and {@link #close()} may be called from any thread, once each.
 */
public final class Console implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Console.class);

  /** How often a page refreshes its live part, unless the builder says otherwise. */
  public static final Duration DEFAULT_REFRESH = Duration.ofSeconds(2);

  private final ConsoleHandler handler;
  private final InetSocketAddress bindAddress;
  private final @Nullable Authenticator authenticator;
  private final Object lock = new Object();

  /** Guarded by {@link #lock}. */
  private @Nullable HttpServer server;

  /** Guarded by {@link #lock}. */
  private @Nullable ExecutorService executor;

  /** Guarded by {@link #lock}. */
  private boolean closed;

  private Console(Builder b) {
    SecureRandom random = new SecureRandom();
    Pages pages = new Pages(b.admins, b.clock, b.refresh, random);
    this.handler = new ConsoleHandler(pages, new Csrf(random), b.authorizer);
    this.bindAddress = new InetSocketAddress(b.address, b.port);
    this.authenticator = b.authenticator;
  }

  /**
   * Returns a builder of a console.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns the console as a handler, to mount in the application's own JDK HTTP server under a
   * prefix of its choice. Its links and forms stay under the context it is mounted at:
   *
   * <pre>{@code
   * HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 8080), 0);
   * server.createContext("/loomwork", console.handler());
   * }</pre>
   *
   * <p>Mounted, it is served by that server, on that server's address; {@link #start()} need not be
   * called. The same handler may be mounted several times, and alongside {@link #start()}.
   *
   * @return the console's handler; thread-safe
   */
  public HttpHandler handler() {
    return handler;
  }

  /**
   * Starts the console's own HTTP server on the builder's address and port (127.0.0.1 and any free
   * port by default), serving requests on virtual threads.
   *
   * @return this console, for {@link #uri()}
   * @throws IOException if the address cannot be bound
   * @throws IllegalStateException if it was started or closed already
   */
  public Console start() throws IOException {
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("this console is closed");
      }
      if (server != null) {
        throw new IllegalStateException("this console is started already, at " + uri());
      }
      HttpServer s = HttpServer.create(bindAddress, 0);
      ExecutorService e = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("loomwork-console-", 0).factory());
      s.setExecutor(e);
      HttpContext context = s.createContext("/", handler);
      if (authenticator != null) {
        context.setAuthenticator(authenticator);
      }
      s.start();
      server = s;
      executor = e;
    }
    log.info("console: serving {}{}", uri(), handler.readOnly() ? " (read-only: no authoriser)" : "");
    return this;
  }

  /**
   * Returns the address the console's own server is bound to, with the port it chose.
   *
   * @return the bound address
   * @throws IllegalStateException if it is not started
   */
  public InetSocketAddress address() {
    synchronized (lock) {
      if (server == null) {
        throw new IllegalStateException("this console is not started" + (closed ? " (closed)" : ""));
      }
      return server.getAddress();
    }
  }

  /**
   * Returns the URL of the console's queues page, on its own server.
   *
   * @return for example {@code http://127.0.0.1:8025/}
   * @throws IllegalStateException if it is not started
   */
  public URI uri() {
    InetSocketAddress a = address();
    String host = a.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return URI.create("http://" + host + ":" + a.getPort() + "/");
  }

  /**
   * Stops the console's own server, if it was started: it stops accepting at once and gives the
   * requests in progress up to a second. A mounted {@link #handler()} is not affected. Idempotent.
   */
  @Override
  public void close() {
    HttpServer s;
    ExecutorService e;
    synchronized (lock) {
      closed = true;
      s = server;
      e = executor;
      server = null;
      executor = null;
    }
    if (s != null) {
      s.stop(1);
    }
    if (e != null) {
      e.close();
    }
  }

  @Override
  public String toString() {
    synchronized (lock) {
      return "Console[" + (server != null ? server.getAddress() : closed ? "closed" : "not started")
          + (handler.readOnly() ? ", read-only" : "") + "]";
    }
  }

  /** Builds a {@link Console}. Not thread-safe; each setter checks its argument at once. */
  public static final class Builder {
    private final List<QueueAdmin> admins = new ArrayList<>();
    private InetAddress address = InetAddress.getLoopbackAddress();
    private int port;
    private @Nullable ConsoleAuthorizer authorizer;
    private @Nullable Authenticator authenticator;
    private Duration refresh = DEFAULT_REFRESH;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /**
     * Adds the queues of an admin: a durable store's ({@code PostgresStore.admin()}) or those in
     * memory ({@code MemoryAdmin}). The pages show the admins in the order they were added.
     *
     * @param admin the admin
     * @return this builder
     * @throws NullPointerException if {@code admin} is null
     * @throws IllegalArgumentException if this admin was added already
     */
    public Builder admin(QueueAdmin admin) {
      Objects.requireNonNull(admin, "admin");
      for (QueueAdmin a : admins) {
        if (a == admin) {
          throw new IllegalArgumentException("admin: " + admin + " (expected: an admin not added already)");
        }
      }
      admins.add(admin);
      return this;
    }

    /**
     * Sets the address {@link #start()} binds; 127.0.0.1 (the loopback address) by default, so that
     * only the machine itself reaches the console. Bind another address only behind a firewall or a
     * proxy that authenticates.
     *
     * @param address the address, such as {@code InetAddress.getByName("0.0.0.0")}
     * @return this builder
     * @throws NullPointerException if {@code address} is null
     */
    public Builder address(InetAddress address) {
      this.address = Objects.requireNonNull(address, "address");
      return this;
    }

    /**
     * Sets the port {@link #start()} binds; 0 (any free port, which {@link #uri()} tells) by default.
     *
     * @param port from 0 to 65535
     * @return this builder
     * @throws IllegalArgumentException if {@code port} is out of range
     */
    public Builder port(int port) {
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 0 to 65535)");
      }
      this.port = port;
      return this;
    }

    /**
     * Enables the actions, each one allowed or refused by {@code authorizer}. Without one the console
     * is read-only. {@link ConsoleAuthorizer#allowAll()} allows every action to whoever reaches the
     * console.
     *
     * @param authorizer decides on every state-changing request
     * @return this builder
     * @throws NullPointerException if {@code authorizer} is null
     */
    public Builder authorizer(ConsoleAuthorizer authorizer) {
      this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
      return this;
    }

    /**
     * Makes {@link #start()}'s server authenticate every request, pages included, with {@code
     * authenticator}, such as a {@link com.sun.net.httpserver.BasicAuthenticator}; the authoriser
     * then sees the user as {@link ConsoleAction#principal()}. By default the console's own server
     * authenticates nobody. A mounted {@link #handler()} uses its own context's authenticator instead.
     * Basic authentication sends the password in clear: use it behind TLS or on 127.0.0.1.
     *
     * @param authenticator authenticates each request before the console sees it
     * @return this builder
     * @throws NullPointerException if {@code authenticator} is null
     */
    public Builder authenticator(Authenticator authenticator) {
      this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
      return this;
    }

    /**
     * Sets how often an open page refreshes its live part; {@link #DEFAULT_REFRESH} by default. The
     * queues' counts are read from the admins at most once a second whatever this is.
     *
     * @param interval from 500 ms to 1 hour, or {@link Duration#ZERO} for no refresh
     * @return this builder
     * @throws IllegalArgumentException if {@code interval} is out of range
     */
    public Builder refresh(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (!interval.isZero() && (interval.compareTo(Duration.ofMillis(500)) < 0 || interval.compareTo(Duration.ofHours(1)) > 0)) {
        throw new IllegalArgumentException("interval: " + interval + " (expected: 0, or 500 ms to 1 hour)");
      }
      this.refresh = interval;
      return this;
    }

    /** The clock of the pages' times and of the throughput (tests). */
    Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Builds the console. It serves nothing until it is started or its handler is mounted.
     *
     * @return the console
     * @throws IllegalStateException if no admin was added
     */
    public Console build() {
      if (admins.isEmpty()) {
        throw new IllegalStateException("admins: none (expected: at least one, added with admin(...))");
      }
      return new Console(this);
    }
  }
}
