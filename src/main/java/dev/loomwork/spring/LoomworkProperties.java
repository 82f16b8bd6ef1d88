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
  /** The queues, by name: each is built, started with the application and drained at its stop. */
  private final Map<String, Queue> queues = new LinkedHashMap<>();

  /** The PostgreSQL store on the application's DataSource, for durable queues. */
  private final Store store = new Store();

  /** The shutdown of the queues. */
  private final Shutdown shutdown = new Shutdown();

  /** Whether the queues publish their metrics to the application's MeterRegistry, if it has one. */
  private boolean metrics = true;

  /**
   * Whether attempts (and durable enqueues) are observed through the application's
   * ObservationRegistry, if it has one: with Micrometer Tracing, each attempt is a span in the trace
   * of the request that enqueued its task.
   */
  private boolean observations = true;

  public Map<String, Queue> getQueues() {
    return queues;
  }

  public Store getStore() {
    return store;
  }

  public Shutdown getShutdown() {
    return shutdown;
  }

  public boolean isMetrics() {
    return metrics;
  }

  public void setMetrics(boolean metrics) {
    this.metrics = metrics;
  }

  public boolean isObservations() {
    return observations;
  }

  public void setObservations(boolean observations) {
    this.observations = observations;
  }

  /** One queue's settings, under {@code loomwork.queues.<name>}. */
  public static class Queue {
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

    public int getConcurrency() {
      return concurrency;
    }

    public void setConcurrency(int concurrency) {
      this.concurrency = concurrency;
    }

    public int getCapacity() {
      return capacity;
    }

    public void setCapacity(int capacity) {
      this.capacity = capacity;
    }

    public boolean isDurable() {
      return durable;
    }

    public void setDurable(boolean durable) {
      this.durable = durable;
    }

    public Retry getRetry() {
      return retry;
    }

    public Duration getAbandonAfter() {
      return abandonAfter;
    }

    public void setAbandonAfter(Duration abandonAfter) {
      this.abandonAfter = abandonAfter;
    }

    public Duration getProgressInterval() {
      return progressInterval;
    }

    public void setProgressInterval(Duration progressInterval) {
      this.progressInterval = progressInterval;
    }

    public AttemptScope getAttemptScope() {
      return attemptScope;
    }

    public void setAttemptScope(AttemptScope attemptScope) {
      this.attemptScope = attemptScope;
    }

    public boolean isCarryMdc() {
      return carryMdc;
    }

    public void setCarryMdc(boolean carryMdc) {
      this.carryMdc = carryMdc;
    }
  }

  /**
   * A queue's default retry policy, under {@code loomwork.queues.<name>.retry}; what is not set keeps
   * the library's default (3 retries, exponential backoff from 1 s doubling to 1 min, 20 % jitter).
   */
  public static class Retry {
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

    public @Nullable Integer getRetries() {
      return retries;
    }

    public void setRetries(@Nullable Integer retries) {
      this.retries = retries;
    }

    public @Nullable Duration getInitialBackoff() {
      return initialBackoff;
    }

    public void setInitialBackoff(@Nullable Duration initialBackoff) {
      this.initialBackoff = initialBackoff;
    }

    public @Nullable Duration getMaxBackoff() {
      return maxBackoff;
    }

    public void setMaxBackoff(@Nullable Duration maxBackoff) {
      this.maxBackoff = maxBackoff;
    }

    public @Nullable Double getBackoffFactor() {
      return backoffFactor;
    }

    public void setBackoffFactor(@Nullable Double backoffFactor) {
      this.backoffFactor = backoffFactor;
    }

    public @Nullable Double getJitter() {
      return jitter;
    }

    public void setJitter(@Nullable Double jitter) {
      this.jitter = jitter;
    }

    public @Nullable Duration getAttemptTimeout() {
      return attemptTimeout;
    }

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

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public Migration getMigration() {
      return migration;
    }

    public void setMigration(Migration migration) {
      this.migration = migration;
    }

    public @Nullable Duration getLease() {
      return lease;
    }

    public void setLease(@Nullable Duration lease) {
      this.lease = lease;
    }

    public @Nullable Duration getRescueInterval() {
      return rescueInterval;
    }

    public void setRescueInterval(@Nullable Duration rescueInterval) {
      this.rescueInterval = rescueInterval;
    }

    public @Nullable Duration getPollInterval() {
      return pollInterval;
    }

    public void setPollInterval(@Nullable Duration pollInterval) {
      this.pollInterval = pollInterval;
    }

    public boolean isPollOnly() {
      return pollOnly;
    }

    public void setPollOnly(boolean pollOnly) {
      this.pollOnly = pollOnly;
    }
  }

  /** The shutdown, under {@code loomwork.shutdown}. */
  public static class Shutdown {
    /**
     * How long the queues drain before what is left is cut. Unset: the application's
     * spring.lifecycle.timeout-per-shutdown-phase (default 30 s), less the longest abandon-after and
     * a margin, so that the cut is reported within the phase.
     */
    private @Nullable Duration timeout;

    public @Nullable Duration getTimeout() {
      return timeout;
    }

    public void setTimeout(@Nullable Duration timeout) {
      this.timeout = timeout;
    }
  }
}
