package dev.loomwork.spring;

import dev.loomwork.AttemptScope;
import dev.loomwork.WorkQueue;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * loomwork's configuration properties, under {@code loomwork}. Unknown keys are an error, so a
 * misspelt property fails the start instead of being ignored. Values out of range fail the start
 * with the property's name and the expected range.
 */
@ConfigurationProperties(prefix = "loomwork", ignoreUnknownFields = false)
public class LoomworkProperties {
  /** Settings with their defaults, to be bound from the properties. */
  public LoomworkProperties() {}

  /** The queues, by name: each is built, started with the application and drained at its stop. */
  private final Map<String, Queue> queues = new LinkedHashMap<>();

  /** The PostgreSQL store on the application's DataSource, for durable queues. */
  private final Store store = new Store();

  /** The shutdown of the queues. */
  private final Shutdown shutdown = new Shutdown();

  /** The web console, on a port of its own. */
  private final Console console = new Console();

  /** Whether the queues publish their metrics to the application's MeterRegistry, if it has one. */
  private boolean metrics = true;

  /**
   * Whether attempts (and durable enqueues) are observed through the application's
   * ObservationRegistry, if it has one: with Micrometer Tracing, each attempt is a span in the trace
   * of the request that enqueued its task.
   */
  private boolean observations = true;

  /** {@return the {@code queues} property} */
  public Map<String, Queue> getQueues() {
    return queues;
  }

  /** {@return the {@code store} property} */
  public Store getStore() {
    return store;
  }

  /** {@return the {@code shutdown} property} */
  public Shutdown getShutdown() {
    return shutdown;
  }

  /** {@return the {@code console} property} */
  public Console getConsole() {
    return console;
  }

  /** {@return the {@code metrics} property} */
  public boolean isMetrics() {
    return metrics;
  }

  /**
   * Sets the {@code metrics} property.
   *
   * @param metrics its value
   */
  public void setMetrics(boolean metrics) {
    this.metrics = metrics;
  }

  /** {@return the {@code observations} property} */
  public boolean isObservations() {
    return observations;
  }

  /**
   * Sets the {@code observations} property.
   *
   * @param observations its value
   */
  public void setObservations(boolean observations) {
    this.observations = observations;
  }

  /** One queue's settings, under {@code loomwork.queues.<name>}. */
  public static class Queue {
    /** Settings with their defaults, to be bound from the properties. */
    public Queue() {}

    /** How many attempts run at once at most, at least 1. */
    private int concurrency = WorkQueue.Builder.DEFAULT_CONCURRENCY;

    /** How many ready tasks the queue holds at most, at least 1. */
    private int capacity = WorkQueue.Builder.DEFAULT_CAPACITY;

    /** Whether the queue runs its tasks from the PostgreSQL store (loomwork.store). */
    private boolean durable;

    /** The default retry policy of its tasks. */
    private final Retry retry = new Retry();

    /** How long a cutting shutdown waits for interrupted attempts to end before it abandons them. */
    private Duration abandonAfter = WorkQueue.Builder.DEFAULT_ABANDON_AFTER;

    /** How often a draining shutdown logs its progress. */
    private Duration progressInterval = WorkQueue.Builder.DEFAULT_PROGRESS_INTERVAL;

    /** How attempts sit in the queue's StructuredTaskScope with the structured runner. */
    private AttemptScope attemptScope = AttemptScope.SHARED;

    /** Whether a task carries its submitter's MDC to its attempts (tasks in memory only). */
    private boolean carryMdc;

    /** {@return the {@code concurrency} property} */
    public int getConcurrency() {
      return concurrency;
    }

    /**
     * Sets the {@code concurrency} property.
     *
     * @param concurrency its value
     */
    public void setConcurrency(int concurrency) {
      this.concurrency = concurrency;
    }

    /** {@return the {@code capacity} property} */
    public int getCapacity() {
      return capacity;
    }

    /**
     * Sets the {@code capacity} property.
     *
     * @param capacity its value
     */
    public void setCapacity(int capacity) {
      this.capacity = capacity;
    }

    /** {@return the {@code durable} property} */
    public boolean isDurable() {
      return durable;
    }

    /**
     * Sets the {@code durable} property.
     *
     * @param durable its value
     */
    public void setDurable(boolean durable) {
      this.durable = durable;
    }

    /** {@return the {@code retry} property} */
    public Retry getRetry() {
      return retry;
    }

    /** {@return the {@code abandon-after} property} */
    public Duration getAbandonAfter() {
      return abandonAfter;
    }

    /**
     * Sets the {@code abandon-after} property.
     *
     * @param abandonAfter its value
     */
    public void setAbandonAfter(Duration abandonAfter) {
      this.abandonAfter = abandonAfter;
    }

    /** {@return the {@code progress-interval} property} */
    public Duration getProgressInterval() {
      return progressInterval;
    }

    /**
     * Sets the {@code progress-interval} property.
     *
     * @param progressInterval its value
     */
    public void setProgressInterval(Duration progressInterval) {
      this.progressInterval = progressInterval;
    }

    /** {@return the {@code attempt-scope} property} */
    public AttemptScope getAttemptScope() {
      return attemptScope;
    }

    /**
     * Sets the {@code attempt-scope} property.
     *
     * @param attemptScope its value
     */
    public void setAttemptScope(AttemptScope attemptScope) {
      this.attemptScope = attemptScope;
    }

    /** {@return the {@code carry-mdc} property} */
    public boolean isCarryMdc() {
      return carryMdc;
    }

    /**
     * Sets the {@code carry-mdc} property.
     *
     * @param carryMdc its value
     */
    public void setCarryMdc(boolean carryMdc) {
      this.carryMdc = carryMdc;
    }
  }

  /**
   * A queue's default retry policy, under {@code loomwork.queues.<name>.retry}; what is not set keeps
   * the library's default (3 retries, exponential backoff from 1 s doubling to 1 min, 20 % jitter).
   */
  public static class Retry {
    /** Settings with their defaults, to be bound from the properties. */
    public Retry() {}

    /** Retries after the first attempt, 0 or more. */
    private @Nullable Integer retries;

    /** The first backoff delay, more than 0. */
    private @Nullable Duration initialBackoff;

    /** The longest backoff delay, at least the initial one. */
    private @Nullable Duration maxBackoff;

    /** The factor each backoff delay grows by, at least 1. */
    private @Nullable Double backoffFactor;

    /** The backoff's jitter, from 0 to 1 (0 for none). */
    private @Nullable Double jitter;

    /** How long one attempt may run before it is cut and counts as a timeout; none if unset. */
    private @Nullable Duration attemptTimeout;

    /** {@return the {@code retries} property} */
    public @Nullable Integer getRetries() {
      return retries;
    }

    /**
     * Sets the {@code retries} property.
     *
     * @param retries its value
     */
    public void setRetries(@Nullable Integer retries) {
      this.retries = retries;
    }

    /** {@return the {@code initial-backoff} property} */
    public @Nullable Duration getInitialBackoff() {
      return initialBackoff;
    }

    /**
     * Sets the {@code initial-backoff} property.
     *
     * @param initialBackoff its value
     */
    public void setInitialBackoff(@Nullable Duration initialBackoff) {
      this.initialBackoff = initialBackoff;
    }

    /** {@return the {@code max-backoff} property} */
    public @Nullable Duration getMaxBackoff() {
      return maxBackoff;
    }

    /**
     * Sets the {@code max-backoff} property.
     *
     * @param maxBackoff its value
     */
    public void setMaxBackoff(@Nullable Duration maxBackoff) {
      this.maxBackoff = maxBackoff;
    }

    /** {@return the {@code backoff-factor} property} */
    public @Nullable Double getBackoffFactor() {
      return backoffFactor;
    }

    /**
     * Sets the {@code backoff-factor} property.
     *
     * @param backoffFactor its value
     */
    public void setBackoffFactor(@Nullable Double backoffFactor) {
      this.backoffFactor = backoffFactor;
    }

    /** {@return the {@code jitter} property} */
    public @Nullable Double getJitter() {
      return jitter;
    }

    /**
     * Sets the {@code jitter} property.
     *
     * @param jitter its value
     */
    public void setJitter(@Nullable Double jitter) {
      this.jitter = jitter;
    }

    /** {@return the {@code attempt-timeout} property} */
    public @Nullable Duration getAttemptTimeout() {
      return attemptTimeout;
    }

    /**
     * Sets the {@code attempt-timeout} property.
     *
     * @param attemptTimeout its value
     */
    public void setAttemptTimeout(@Nullable Duration attemptTimeout) {
      this.attemptTimeout = attemptTimeout;
    }
  }

  /** How the store's schema is applied. */
  public enum Migration {
    /**
     * If the application runs Flyway or Liquibase, they apply it (loomwork's scripts added to their
     * migrations) and the start checks the version; otherwise loomwork applies it (migrate()).
     */
    AUTO,
    /** loomwork applies it at start (PostgresStore.migrate), whatever else the application runs. */
    LOOMWORK,
    /** Nobody applies it here; the start checks the version. */
    NONE
  }

  /** The PostgreSQL store, under {@code loomwork.store}. */
  public static class Store {
    /** Settings with their defaults, to be bound from the properties. */
    public Store() {}

    /** Whether a PostgresStore is made on the application's DataSource. */
    private boolean enabled = true;

    /** How the store's schema is applied. */
    private Migration migration = Migration.AUTO;

    /** How long a worker's lease lasts without a heartbeat; unset keeps the store's default (30 s). */
    private @Nullable Duration lease;

    /** How often each process rescues the tasks of workers whose lease expired (default 10 s). */
    private @Nullable Duration rescueInterval;

    /** How often an idle worker claims without being woken (default 1 s). */
    private @Nullable Duration pollInterval;

    /** Whether workers poll instead of LISTEN (for PgBouncer in transaction mode). */
    private boolean pollOnly;

    /** {@return the {@code enabled} property} */
    public boolean isEnabled() {
      return enabled;
    }

    /**
     * Sets the {@code enabled} property.
     *
     * @param enabled its value
     */
    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    /** {@return the {@code migration} property} */
    public Migration getMigration() {
      return migration;
    }

    /**
     * Sets the {@code migration} property.
     *
     * @param migration its value
     */
    public void setMigration(Migration migration) {
      this.migration = migration;
    }

    /** {@return the {@code lease} property} */
    public @Nullable Duration getLease() {
      return lease;
    }

    /**
     * Sets the {@code lease} property.
     *
     * @param lease its value
     */
    public void setLease(@Nullable Duration lease) {
      this.lease = lease;
    }

    /** {@return the {@code rescue-interval} property} */
    public @Nullable Duration getRescueInterval() {
      return rescueInterval;
    }

    /**
     * Sets the {@code rescue-interval} property.
     *
     * @param rescueInterval its value
     */
    public void setRescueInterval(@Nullable Duration rescueInterval) {
      this.rescueInterval = rescueInterval;
    }

    /** {@return the {@code poll-interval} property} */
    public @Nullable Duration getPollInterval() {
      return pollInterval;
    }

    /**
     * Sets the {@code poll-interval} property.
     *
     * @param pollInterval its value
     */
    public void setPollInterval(@Nullable Duration pollInterval) {
      this.pollInterval = pollInterval;
    }

    /** {@return the {@code poll-only} property} */
    public boolean isPollOnly() {
      return pollOnly;
    }

    /**
     * Sets the {@code poll-only} property.
     *
     * @param pollOnly its value
     */
    public void setPollOnly(boolean pollOnly) {
      this.pollOnly = pollOnly;
    }
  }

  /** The shutdown, under {@code loomwork.shutdown}. */
  public static class Shutdown {
    /** Settings with their defaults, to be bound from the properties. */
    public Shutdown() {}

    /**
     * How long the queues drain before what is left is cut. Unset: the application's
     * spring.lifecycle.timeout-per-shutdown-phase (default 30 s), less the longest abandon-after and
     * a margin, so that the cut is reported within the phase.
     */
    private @Nullable Duration timeout;

    /** {@return the {@code timeout} property} */
    public @Nullable Duration getTimeout() {
      return timeout;
    }

    /**
     * Sets the {@code timeout} property.
     *
     * @param timeout its value
     */
    public void setTimeout(@Nullable Duration timeout) {
      this.timeout = timeout;
    }
  }

  /** The web console's settings, under {@code loomwork.console}. */
  public static class Console {
    /** Settings with their defaults, to be bound from the properties. */
    public Console() {}

    /**
     * Whether the web console runs, on a port of its own, started and stopped with the application.
     * Read-only unless the application defines a ConsoleAuthorizer bean.
     */
    private boolean enabled;

    /**
     * The address the console binds: the loopback address unless told otherwise, so that only the
     * machine itself reaches it. Bind another only behind a firewall or an authenticating proxy.
     */
    private String address = "127.0.0.1";

    /** The port the console binds; 0 takes any free port, which the start's log line tells. */
    private int port;

    /** How often an open page refreshes its live part; 0 for never, else 500 ms to 1 hour. */
    private Duration refresh = Duration.ofSeconds(2);

    /** {@return the {@code enabled} property} */
    public boolean isEnabled() {
      return enabled;
    }

    /**
     * Sets the {@code enabled} property.
     *
     * @param enabled its value
     */
    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    /** {@return the {@code address} property} */
    public String getAddress() {
      return address;
    }

    /**
     * Sets the {@code address} property.
     *
     * @param address its value
     */
    public void setAddress(String address) {
      this.address = address;
    }

    /** {@return the {@code port} property} */
    public int getPort() {
      return port;
    }

    /**
     * Sets the {@code port} property.
     *
     * @param port its value
     */
    public void setPort(int port) {
      this.port = port;
    }

    /** {@return the {@code refresh} property} */
    public Duration getRefresh() {
      return refresh;
    }

    /**
     * Sets the {@code refresh} property.
     *
     * @param refresh its value
     */
    public void setRefresh(Duration refresh) {
      this.refresh = refresh;
    }
  }
}
