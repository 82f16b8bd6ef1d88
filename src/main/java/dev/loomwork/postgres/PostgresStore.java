package dev.loomwork.postgres;

import dev.loomwork.RetryPolicy;
import dev.loomwork.Task;
import dev.loomwork.TaskState;
import dev.loomwork.admin.StoreAdmin;
import dev.loomwork.internal.Access;
import dev.loomwork.internal.DurableBackend;
import dev.loomwork.internal.DurableSpec;
import dev.loomwork.internal.ScheduleStore;
import dev.loomwork.internal.Tracing;
import dev.loomwork.postgres.Debouncer.Wake;
import dev.loomwork.postgres.PostgresTypes.Enqueued;
import dev.loomwork.postgres.PostgresTypes.NewTask;
import dev.loomwork.postgres.PostgresTypes.StoredTask;
import io.micrometer.observation.ObservationRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * A durable store of tasks in PostgreSQL: tasks survive a crash of the process that enqueued them or
 * ran them, and every process whose queue of a name uses the same database shares that queue's
 * tasks. Build it from the application's {@link DataSource}, apply the schema once ({@link
 * #migrate()}), enqueue typed tasks with {@link #enqueue(String, Task)} (or on the application's own
 * connection, in its transaction, with {@link #enqueue(Connection, String, Task)}), and run them
 * with a queue built with {@link dev.loomwork.WorkQueue.Builder#store(PostgresStore)}.
 *
 * <p>The guarantee is at least once: a task whose worker dies mid-attempt runs again, in whatever
 * process claims it, after the worker's lease expires and a rescuer returns it (about lease + rescue
 * interval). A task's id ({@code TaskContext.taskId()}) is the idempotency key for effects outside
 * the database.
 *
 * <p>The store borrows a few connections of the data source (claims, completions, maintenance) and
 * holds one per running queue for LISTEN, unless it {@linkplain Builder#pollOnly() polls only}.
 * Thread-safe; one store serves any number of queues and threads. Needs the PostgreSQL JDBC driver
 * ({@code org.postgresql:postgresql}) on the class path or module path.
 */
public final class PostgresStore {
  static {
    Access.stores(store -> ((PostgresStore) store).backend);
    ScheduleStore.Passage.install(store -> ((PostgresStore) store).schedules);
  }

  /** The default {@linkplain Builder#lease lease}: 30 s. */
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);

  /** The default {@linkplain Builder#rescueInterval rescue interval}: 10 s. */
  public static final Duration DEFAULT_RESCUE_INTERVAL = Duration.ofSeconds(10);

  /** The default {@linkplain Builder#pollInterval poll interval}: 1 s. */
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);

  /** The default time {@linkplain Builder#retention succeeded tasks are kept}: 24 h. */
  public static final Duration DEFAULT_KEEP_SUCCEEDED = Duration.ofHours(24);

  /** The default time {@linkplain Builder#retention failed and cancelled tasks are kept}: 7 days. */
  public static final Duration DEFAULT_KEEP_ENDED = Duration.ofDays(7);

  private final DataSource dataSource;
  private final PostgresEnqueue enqueue;
  private final PostgresTaskRows rows;
  private final PostgresBackend backend;
  private final Debouncer notifications;
  /** The schedule table of durable recurring tasks. */
  private final PostgresSchedules schedules;
  /** The operators' view of the store. */
  private final PostgresAdmin admin;
  /** Where enqueues are observed (an {@code ObservationRegistry}), or null: no trace context kept. */
  private final @Nullable Object observationRegistry;

  private PostgresStore(Builder b) {
    this.dataSource = b.dataSource;
    this.observationRegistry = b.observationRegistry;
    this.enqueue = new PostgresEnqueue(b.dataSource);
    this.rows = new PostgresTaskRows(b.dataSource);
    this.notifications = new Debouncer(new PostgresNotifications(b.dataSource), b.notifyWindow);
    this.schedules = new PostgresSchedules(b.dataSource);
    this.admin = new PostgresAdmin(b.dataSource, this);
    this.backend =
        new PostgresBackend(
            b.dataSource,
            new DurableBackend.Settings(
                b.lease,
                b.lease.dividedBy(3),
                b.rescueInterval,
                b.pollInterval,
                b.pollOnly,
                Duration.ofMinutes(1)),
            b.keepSucceeded,
            b.keepEnded);
  }

  /**
   * A store with the default settings.
   *
   * @param dataSource the application's PostgreSQL data source
   * @return the store
   */
  public static PostgresStore of(DataSource dataSource) {
    return builder(dataSource).build();
  }

  /**
   * A builder of a store.
   *
   * @param dataSource the application's PostgreSQL data source
   * @return the builder
   */
  public static Builder builder(DataSource dataSource) {
    return new Builder(dataSource);
  }

  /**
   * Applies the schema this library needs, if the database lacks it; see {@link PostgresSchema}.
   * Call it once before the first enqueue or queue: until then an enqueue throws, and a queue's
   * worker logs, an error that says the tables are missing and to call this.
   *
   * @return the schema version the database has now, after this call: {@link PostgresSchema#VERSION}
   * @throws SQLException if the database refused
   * @throws IllegalStateException if the database has a newer schema than this library knows
   */
  public int migrate() throws SQLException {
    PostgresSchema.migrate(dataSource); // returns the version it found before
    return PostgresSchema.VERSION; // a newer one threw
  }

  /**
   * Enqueues a typed task on queue {@code queue}, in a transaction of its own, and wakes the
   * queue's workers.
   *
   * @param queue the queue that runs it (any process's queue of that name with this store)
   * @param task a typed task ({@link Task#of(dev.loomwork.TaskType, Object)}); its name, retries,
   *     not-before time or delay and deadline are stored, its backoff and attempt timeout come from
   *     its {@code TaskType}
   * @return the task's id
   * @throws IllegalArgumentException if the task is a closure, has an after-callback or sets a
   *     backoff, attempt timeout or retry policy of its own, or if {@code queue} is blank
   * @throws SQLException if the database refused; then nothing was enqueued
   */
  public long enqueue(String queue, Task<?> task) throws SQLException {
    return enqueue(queue, task, null);
  }

  /**
   * Enqueues a typed task with a unique key: while a task of {@code queue} with that key is ready or
   * running, no other is inserted and its id is returned instead.
   *
   * @param queue the queue that runs it
   * @param task a typed task; see {@link #enqueue(String, Task)}
   * @param uniqueKey the key, or null for none
   * @return the task's id, or the live task's with the same key
   * @throws IllegalArgumentException as {@link #enqueue(String, Task)} says
   * @throws SQLException if the database refused; then nothing was enqueued
   */
  public long enqueue(String queue, Task<?> task, @Nullable String uniqueKey) throws SQLException {
    NewTask t = newTask(queue, task, uniqueKey);
    Wake wake = notifications.decide(queue, true);
    Enqueued e = traced(t, traced -> enqueue.enqueue(traced, wake));
    notifications.enqueued(queue, wake, e.backend());
    return e.id();
  }

  /**
   * Enqueues a typed task on the application's connection, in its transaction: the task exists if
   * and only if the application commits, and its workers are woken at commit. Nothing else is done
   * to the connection: no commit, rollback or close, no change of auto-commit or isolation.
   *
   * @param connection the application's connection to the store's database
   * @param queue the queue that runs it
   * @param task a typed task; see {@link #enqueue(String, Task)}
   * @return the task's id
   * @throws IllegalArgumentException as {@link #enqueue(String, Task)} says
   * @throws SQLException as the database raised it; the caller's transaction is then aborted, as
   *     by an error of its own statement
   */
  public long enqueue(Connection connection, String queue, Task<?> task) throws SQLException {
    return enqueue(connection, queue, task, null);
  }

  /**
   * Enqueues a typed task on the application's connection, in its transaction, with a unique key:
   * an insert racing another transaction's uncommitted one of the same key waits for it, and
   * inserts if that one rolls back.
   *
   * @param connection the application's connection to the store's database
   * @param queue the queue that runs it
   * @param task a typed task; see {@link #enqueue(String, Task)}
   * @param uniqueKey the key, or null for none
   * @return the task's id, or the live task's with the same key
   * @throws IllegalArgumentException as {@link #enqueue(String, Task)} says
   * @throws SQLException as the database raised it
   */
  public long enqueue(Connection connection, String queue, Task<?> task, @Nullable String uniqueKey)
      throws SQLException {
    Objects.requireNonNull(connection, "connection");
    NewTask t = newTask(queue, task, uniqueKey);
    Wake wake = notifications.decide(queue, connection.getAutoCommit());
    Enqueued e = traced(t, traced -> PostgresEnqueue.enqueue(connection, traced, wake));
    notifications.enqueued(queue, wake, e.backend());
    return e.id();
  }

  /** An insert of a task, as {@link #traced} runs it. */
  @FunctionalInterface
  private interface Insert {
    Enqueued insert(NewTask task) throws SQLException;
  }

  /**
   * Runs {@code insert}: as a traced enqueue if the store has a registry (the task keeps the trace
   * context of its {@code loomwork.enqueue} observation), else as it is.
   */
  private Enqueued traced(NewTask t, Insert insert) throws SQLException {
    Object registry = observationRegistry;
    if (registry == null) {
      return insert.insert(t);
    }
    try {
      return Tracing.enqueue(
          registry,
          t.queue(),
          t.handler(),
          trace ->
              insert.insert(trace == null ? t : t.traced(trace.traceparent(), trace.tracestate())));
    } catch (SQLException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e); // Insert throws nothing else
    }
  }

  private static NewTask newTask(String queue, Task<?> task, @Nullable String uniqueKey) {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(task, "task");
    if (queue.isBlank()) {
      throw new IllegalArgumentException("queue: '" + queue + "' (expected: not blank)");
    }
    DurableSpec s = Access.core(task).durableSpec(RetryPolicy.defaults());
    return new NewTask(
        queue,
        s.handler(),
        s.version(),
        s.payloadJson(),
        s.name(),
        s.notBefore(),
        s.delay() == null ? Duration.ZERO : s.delay(),
        s.maxAttempts(),
        s.within(),
        uniqueKey,
        null,
        null);
  }

  /**
   * Reads a task's row.
   *
   * @param id the task's id, as {@link #enqueue(String, Task)} returned it
   * @return the task, or empty if there is no such task (never enqueued, or pruned)
   * @throws SQLException if the database refused
   */
  public Optional<PostgresTask> find(long id) throws SQLException {
    return rows.find(id).map(PostgresStore::view);
  }

  /**
   * The admin of this store: lists and searches its tasks, reads one with its attempts, retries,
   * cancels and deletes tasks, pauses and resumes queues for every process, and lists the live
   * workers. See {@link StoreAdmin}.
   *
   * @return the admin, the same object at every call
   */
  public StoreAdmin admin() {
    return admin;
  }

  /**
   * Cancels a task: one that waits ends cancelled at once; a running one is cut by its worker at its
   * next heartbeat, and ends cancelled.
   *
   * @param id the task's id
   * @return true if the task was waiting or running, false if it had ended or does not exist
   * @throws SQLException if the database refused
   */
  public boolean cancel(long id) throws SQLException {
    Optional<PostgresTypes.State> state = rows.cancel(id);
    if (state.isPresent()) {
      backend.dropAtOnce(List.of(new PostgresTypes.Applied(id, state.get())));
    }
    return state.isPresent();
  }

  static PostgresTask view(StoredTask t) {
    TaskState state =
        switch (t.state()) {
          case READY -> t.runAt().isAfter(Instant.now()) ? TaskState.WAITING : TaskState.READY;
          case RUNNING -> TaskState.RUNNING;
          case SUCCEEDED -> TaskState.SUCCEEDED;
          case FAILED -> TaskState.FAILED;
          case CANCELLED -> TaskState.CANCELLED;
        };
    return new PostgresTask(
        t.id(), t.queue(), t.handler(), t.payloadJson(), t.name(), state, t.attempt(), t.maxAttempts(),
        t.runAt(), t.deadline(), t.cancelRequested(), t.lastErrorJson());
  }

  @Override
  public String toString() {
    return "PostgresStore[" + backend.settings() + "]";
  }

  /** Settings of a {@link PostgresStore}. */
  public static final class Builder {
    private final DataSource dataSource;
    private Duration lease = DEFAULT_LEASE;
    private Duration rescueInterval = DEFAULT_RESCUE_INTERVAL;
    private Duration pollInterval = DEFAULT_POLL_INTERVAL;
    private boolean pollOnly;
    private Duration keepSucceeded = DEFAULT_KEEP_SUCCEEDED;
    private Duration keepEnded = DEFAULT_KEEP_ENDED;
    private Duration notifyWindow = Duration.ofMillis(Debouncer.WINDOW_MILLIS);
    private @Nullable ObservationRegistry observationRegistry;

    private Builder(DataSource dataSource) {
      this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    }

    /**
     * How long a worker's lease lasts without a heartbeat; workers renew it every third of that. A
     * crashed process's tasks run again within about lease + rescue interval. Default 30 s.
     *
     * @param lease at least 30 ms
     * @return this builder
     */
    public Builder lease(Duration lease) {
      this.lease = atLeast(lease, Duration.ofMillis(30), "lease");
      return this;
    }

    /**
     * How often each process tries to rescue the tasks of workers whose lease expired (one process
     * at a time does). Default 10 s.
     *
     * @param interval at least 1 ms
     * @return this builder
     */
    public Builder rescueInterval(Duration interval) {
      this.rescueInterval = atLeast(interval, Duration.ofMillis(1), "rescueInterval");
      return this;
    }

    /**
     * How often a worker with free permits claims without being woken; the fallback of LISTEN, and
     * the only way in {@link #pollOnly()} mode. Default 1 s.
     *
     * @param interval at least 1 ms
     * @return this builder
     */
    public Builder pollInterval(Duration interval) {
      this.pollInterval = atLeast(interval, Duration.ofMillis(1), "pollInterval");
      return this;
    }

    /**
     * Polls instead of holding a LISTEN connection: for a connection pooler in transaction mode
     * (PgBouncer), where LISTEN does not work. Enqueues still send NOTIFY, which costs little.
     *
     * @return this builder
     */
    public Builder pollOnly() {
      this.pollOnly = true;
      return this;
    }

    /**
     * How long ended tasks are kept before they are pruned (in batches, by one process at a time):
     * succeeded ones for {@code succeeded} (default 24 h), failed and cancelled ones for {@code
     * ended} (default 7 days). Zero deletes them when they end: a completion deletes the tasks it
     * ends before their end is published, {@link PostgresStore#cancel} a cancelled waiting task at
     * once, a release the cancelled tasks it ends. Tasks a rescue ends (out of attempts, or
     * cancelled) go at the next pruning, within a minute.
     *
     * @param succeeded zero or more
     * @param ended zero or more
     * @return this builder
     */
    public Builder retention(Duration succeeded, Duration ended) {
      this.keepSucceeded = atLeast(succeeded, Duration.ZERO, "succeeded");
      this.keepEnded = atLeast(ended, Duration.ZERO, "ended");
      return this;
    }

    /**
     * Observes every enqueue as a {@code loomwork.enqueue} observation (of kind producer, child of
     * the caller's current observation), and stores the W3C trace context ({@code traceparent},
     * {@code tracestate}) that the registry's tracing handler gives it in the task's row: each
     * attempt of the task, in whichever process, is then a {@code loomwork.attempt} observation
     * that continues that trace. Queues that run the tasks need a registry of their own ({@link
     * dev.loomwork.WorkQueue.Builder#observationRegistry}). Without a tracing handler (Micrometer
     * Tracing's propagating handlers) the observations are recorded and no context is stored.
     * Default: none, and nothing is observed.
     *
     * @param registry the registry
     * @return this builder
     * @throws NullPointerException if {@code registry} is null
     */
    public Builder observationRegistry(ObservationRegistry registry) {
      this.observationRegistry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    /** The NOTIFY debounce window; for tests, which need one they can enqueue inside of. */
    Builder notifyWindow(Duration window) {
      this.notifyWindow = atLeast(window, Duration.ZERO, "window");
      return this;
    }

    /**
     * Builds the store. Nothing touches the database until it is used.
     *
     * @return the store
     */
    public PostgresStore build() {
      return new PostgresStore(this);
    }

    private static Duration atLeast(Duration d, Duration min, String what) {
      Objects.requireNonNull(d, what);
      if (d.compareTo(min) < 0) {
        throw new IllegalArgumentException(what + ": " + d + " (expected: >= " + min + ")");
      }
      return d;
    }
  }
}
