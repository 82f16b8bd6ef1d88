package dev.loomwork;

import dev.loomwork.internal.Access;
import dev.loomwork.internal.QueueEngine;
import dev.loomwork.internal.QueueSettings;
import dev.loomwork.postgres.PostgresStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.io.IOException;
import java.io.Reader;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * An in-process work queue: tasks run on virtual threads, each attempt in its own structured scope,
 * failures are retried with backoff, and shutdown drains. Thread-safe.
 *
 * <pre>{@code
 * try (WorkQueue queue = WorkQueue.builder("email").concurrency(16).build()) {
 *   queue.start();
 *   queue.submit(ctx -> mailer.send(welcome));
 * } // close() drains: every accepted task runs to its end
 * }</pre>
 *
 * <p><b>Running.</b> Tasks may be enqueued as soon as the queue is built; they run once it is
 * started. {@link #start()} runs the queue on a thread of its own and returns at once. {@link #run()}
 * runs it on the calling thread, which owns the queue's scope, until the queue is shut down; so a
 * queue's life can be tied to a parent scope with {@code parentScope.fork(queue::run)}. Interrupting
 * that thread (cancelling the parent scope, or a Kotlin coroutine through {@code runInterruptible})
 * cancels every task, interrupts every running attempt, and makes {@code run()} return.
 *
 * <p><b>Capacity.</b> At most {@code capacity} tasks wait in the ready queue. When it is full, {@link
 * #enqueue(Task)} and {@link #submit(Work)} wait for room, {@link #offer(Task)} returns false at once,
 * and {@link #offer(Task, Duration)} waits at most the given time. Tasks waiting for a not-before time
 * and tasks being retried never count against the capacity: what was accepted always fits.
 *
 * <p><b>Shutdown.</b> {@link #shutdown()} stops accepting and drains; {@link #shutdown(Duration)}
 * drains until a deadline, then cancels what is left and returns a {@link ShutdownReport}; {@link
 * #shutdownNow()} cancels at once. A task submitted after any of them is rejected with a {@link
 * RejectedExecutionException} that names the queue.
 */
public final class WorkQueue implements AutoCloseable {
  static {
    Access.queues(queue -> queue.engine);
  }

  private final QueueEngine engine;
  /** The engine and the recurring tasks, which begin and stop with the queue. */
  private final QueueSettings.Parts parts;

  private WorkQueue(QueueSettings.Parts parts) {
    this.engine = parts.engine();
    this.parts = parts;
  }

  /**
   * {@return the queue's recurring tasks, declared with {@link Builder#recurring(RecurringTask)} (none
   * if none was)}: their status (next and last run), and pause, resume and trigger by name.
   */
  public RecurringTasks recurring() {
    return parts.recurring();
  }

  /**
   * Starts building a queue.
   *
   * @param name the queue's name, used in logs, thread names and metrics; not blank
   * @return a builder with every setting at its default
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if {@code name} is blank
   */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** {@return the queue's name} */
  public String name() {
    return engine.name();
  }

  /**
   * Starts the queue on a new virtual thread named {@code loomwork-NAME-dispatcher}, and returns at
   * once. The queue keeps the JVM alive until it terminates or a shutdown method returns, as an
   * executor's threads do; after that no thread of the queue does, even if a shutdown abandoned an
   * attempt that ignored its interruption (that attempt runs on a virtual thread, a daemon).
   *
   * @throws IllegalStateException if the queue was already started or run
   */
  public void start() {
    engine.start();
    parts.beginRecurring();
  }

  /**
   * Runs the queue on the calling thread, which becomes the owner of the queue's structured scope,
   * and returns once the queue is shut down and every attempt has ended. If the calling thread is
   * interrupted, every pending task is cancelled and every running attempt interrupted; {@code run()}
   * then returns (once those attempts have ended) with the thread's interrupt status set.
   *
   * @throws IllegalStateException if the queue was already started or run
   */
  public void run() {
    parts.beginRecurring(); // its ticks wait in the queue until run() below starts it
    engine.run();
  }

  /**
   * Enqueues a body that returns nothing, with the queue's default settings. Waits for room if the
   * ready queue is full.
   *
   * @param work the body
   * @return the task's handle
   * @throws NullPointerException if {@code work} is null
   * @throws RejectedExecutionException if the queue is shut down, or the thread is interrupted while
   *     waiting for room
   */
  public Task<@Nullable Void> submit(Work work) {
    return enqueue(Task.of(work));
  }

  /**
   * Enqueues a body that returns a result, with the queue's default settings. Waits for room if the
   * ready queue is full.
   *
   * @param job the body
   * @param <T> the result type
   * @return the task's handle
   * @throws NullPointerException if {@code job} is null
   * @throws RejectedExecutionException if the queue is shut down, or the thread is interrupted while
   *     waiting for room
   */
  public <T extends @Nullable Object> Task<T> submitJob(Job<T> job) {
    return enqueue(Task.ofJob(job));
  }

  /**
   * Enqueues a typed task with its type's and the queue's default settings; see {@link
   * Task#of(TaskType, Object)}. Waits for room if the ready queue is full.
   *
   * @param type the task's type; this queue must have a handler for it
   * @param payload its payload
   * @param <P> the payload type
   * @return the task's handle
   * @throws NullPointerException if {@code type} is null
   * @throws IllegalArgumentException if this queue has no handler for {@code type}
   * @throws RejectedExecutionException if the queue is shut down, or the thread is interrupted while
   *     waiting for room
   * @throws RuntimeException whatever the type's codec throws while encoding {@code payload} (a
   *     checked exception wrapped in a {@link TaskCodecException}); nothing is then accepted
   */
  public <P extends @Nullable Object> Task<@Nullable Void> submit(TaskType<P> type, P payload) {
    return enqueue(Task.of(type, payload));
  }

  /**
   * Re-queues the typed tasks of a shutdown report written by {@link ShutdownReport#writeJsonLines},
   * from this process or another: each line whose handler this queue has becomes a task with the
   * line's handler, payload, name and id (so its {@link TaskContext#taskId()}, the idempotency key, is
   * kept) and this queue's settings. A task whose id is pending or running here is not enqueued
   * again, so a report re-queued twice runs each task once while its first copy has not ended.
   * Closures are counted, not re-queued; a line that is not JSON, is truncated, or names a handler
   * this queue lacks is skipped and reported, and the rest is still re-queued. Waits for room as
   * {@link #enqueue} does: on a queue not yet started, a report longer than its capacity would wait
   * forever, so start the queue first. For several queues: {@link #requeue(Reader, WorkQueue...)}.
   *
   * @param report the JSON Lines, read to the end (not closed)
   * @return what was re-queued, and what was not and why
   * @throws IOException if reading {@code report} fails
   * @throws NullPointerException if {@code report} is null
   * @throws RejectedExecutionException if the queue is shut down, or the thread is interrupted while
   *     waiting for room
   */
  public RequeueResult requeue(Reader report) throws IOException {
    return Requeue.into(report, new WorkQueue[] {this});
  }

  /**
   * Re-queues a shutdown report into several queues, as {@link #requeue(Reader)} does into one: each
   * typed line goes to the first of {@code queues} that has a handler for it, and a line that none
   * of them handles is skipped and reported once.
   *
   * @param report the JSON Lines, read to the end (not closed)
   * @param queues the queues, in the order they are offered each line; at least one
   * @return what was re-queued, and what was not and why, over all the queues
   * @throws IOException if reading {@code report} fails
   * @throws NullPointerException if {@code report}, {@code queues} or one of them is null
   * @throws IllegalArgumentException if {@code queues} is empty
   * @throws RejectedExecutionException if one of the queues is shut down, or the thread is
   *     interrupted while waiting for room
   */
  public static RequeueResult requeue(Reader report, WorkQueue... queues) throws IOException {
    return Requeue.into(report, queues);
  }

  /**
   * Enqueues a configured task, which freezes its configuration. If the ready queue is full, waits
   * until there is room (backpressure); a task with a not-before time never waits.
   *
   * @param task a task that was never enqueued
   * @param <T> the result type
   * @return {@code task}, for chaining
   * @throws NullPointerException if {@code task} is null
   * @throws IllegalStateException if the task was already enqueued or was cancelled
   * @throws RejectedExecutionException if the queue is shut down (also while waiting for room), or
   *     the thread is interrupted while waiting for room (its interrupt status is then set)
   */
  public <T extends @Nullable Object> Task<T> enqueue(Task<T> task) {
    Objects.requireNonNull(task, "task");
    engine.enqueue(task.core());
    return task;
  }

  /**
   * Enqueues a configured task if there is room now; never waits.
   *
   * @param task a task that was never enqueued
   * @return true if accepted, false if the ready queue is full
   * @throws NullPointerException if {@code task} is null
   * @throws IllegalStateException if the task was already enqueued or was cancelled
   * @throws RejectedExecutionException if the queue is shut down
   */
  public boolean offer(Task<?> task) {
    Objects.requireNonNull(task, "task");
    return engine.offer(task.core());
  }

  /**
   * Enqueues a configured task, waiting at most {@code timeout} for room.
   *
   * @param task a task that was never enqueued
   * @param timeout how long to wait for room
   * @return true if accepted, false if the ready queue stayed full
   * @throws NullPointerException if an argument is null
   * @throws IllegalStateException if the task was already enqueued or was cancelled
   * @throws RejectedExecutionException if the queue is shut down
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean offer(Task<?> task, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(task, "task");
    return engine.offer(task.core(), timeout);
  }

  /**
   * Stops accepting tasks and waits until every accepted task has reached its terminal state,
   * including tasks waiting out a backoff, and the queue has terminated. While it waits it logs
   * progress at INFO. A queue that was never started is started so that its tasks run.
   *
   * <p>If the calling thread is interrupted while waiting, what is left is cancelled as by {@link
   * #shutdownNow()}, and the interrupt status is set when this method returns.
   *
   * @throws IllegalStateException if called from a task of this queue, which would wait for itself
   */
  public void shutdown() {
    parts.stopRecurring();
    engine.shutdown();
  }

  /**
   * Stops accepting tasks and drains until {@code timeout} passes; then cancels what is pending,
   * interrupts what is running, waits up to {@link Builder#abandonAfter(Duration) abandonAfter} for
   * the interrupted attempts to end, and reports what was left.
   *
   * @param timeout how long to drain; zero cancels at once
   * @return what was cancelled and abandoned; {@link ShutdownReport#drained()} if nothing was
   * @throws NullPointerException if {@code timeout} is null
   */
  public ShutdownReport shutdown(Duration timeout) {
    parts.stopRecurring();
    return engine.shutdown(timeout);
  }

  /**
   * Stops accepting tasks, cancels what is pending, interrupts what is running, waits up to {@link
   * Builder#abandonAfter(Duration) abandonAfter} for the interrupted attempts to end, and reports.
   *
   * @return what was cancelled and abandoned
   */
  public ShutdownReport shutdownNow() {
    parts.stopRecurring();
    return engine.shutdownNow();
  }

  /**
   * Same as {@link #shutdown()}: a try-with-resources block drains the queue.
   *
   * @throws IllegalStateException if called from a task of this queue, which would wait for itself
   */
  @Override
  public void close() {
    parts.stopRecurring();
    engine.shutdown();
  }

  /**
   * Shuts several queues down in parallel, under one deadline, as {@link #shutdown(Duration)} does.
   *
   * @param timeout how long to drain, for all of them together
   * @param queues the queues
   * @return one report per queue, in the order given
   * @throws NullPointerException if an argument or a queue is null
   * @throws IllegalStateException if a queue's shutdown threw (its exception is the cause)
   */
  public static List<ShutdownReport> join(Duration timeout, WorkQueue... queues) {
    return Join.shutdownAll(timeout, queues);
  }

  /** {@return a consistent snapshot of the queue's counts} */
  public QueueStats stats() {
    return engine.stats();
  }

  /**
   * {@return the queue's health now: what a health endpoint needs, read in one hold of the queue's
   * lock}: the queue's lifecycle (and so whether it accepts tasks, the readiness signal), how many
   * tasks are ready, waiting and running, the limits, and how long the oldest ready task has been
   * ready. Cheap: no task is copied, and the metrics publish the same figures as gauges.
   */
  public QueueHealth health() {
    return engine.health();
  }

  /** {@return true once a shutdown began: the queue stopped accepting tasks} */
  public boolean isShutdown() {
    return engine.isShutdown();
  }

  /**
   * {@return true once the queue has terminated}: shut down, every task finished and every thread
   * ended (abandoned attempts aside).
   */
  public boolean isTerminated() {
    return engine.isTerminated();
  }

  @Override
  public String toString() {
    return engine.toString();
  }

  /**
   * Builds a {@link WorkQueue}. Each setter validates its argument at once. Not thread-safe; the
   * queue it builds is.
   */
  public static final class Builder {
    /** Default {@link #concurrency(int)}: 256 attempts in flight. */
    public static final int DEFAULT_CONCURRENCY = 256;

    /** Default {@link #capacity(int)}: 10,000 ready tasks. */
    public static final int DEFAULT_CAPACITY = 10_000;

    /** Default {@link #abandonAfter(Duration)}: 1 second. */
    public static final Duration DEFAULT_ABANDON_AFTER = Duration.ofSeconds(1);

    /** Default {@link #progressInterval(Duration)}: 5 seconds. */
    public static final Duration DEFAULT_PROGRESS_INTERVAL = Duration.ofSeconds(5);

    /**
     * Default {@link #timerBuckets(Duration...)}: 1, 2, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2, 5, 10,
     * 15, 20, 30, 45 s, 1, 2, 5 and 10 min.
     */
    public static final List<Duration> DEFAULT_TIMER_BUCKETS =
        List.of(
            Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5),
            Duration.ofSeconds(10), Duration.ofSeconds(15), Duration.ofSeconds(20), Duration.ofSeconds(30),
            Duration.ofSeconds(45), Duration.ofMinutes(1), Duration.ofMinutes(2),
            Duration.ofMinutes(5), Duration.ofMinutes(10));

    /** The settings, validated as they are set: the builder's body (see {@link QueueSettings}). */
    private final QueueSettings settings;

    private Builder(String name) {
      this.settings = new QueueSettings(name, DEFAULT_CONCURRENCY, DEFAULT_CAPACITY, DEFAULT_ABANDON_AFTER,
          DEFAULT_PROGRESS_INTERVAL, DEFAULT_TIMER_BUCKETS);
    }

    /**
     * Sets how many attempts may run at once. Default {@value #DEFAULT_CONCURRENCY}.
     *
     * @param concurrency at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code concurrency} is less than 1
     */
    public Builder concurrency(int concurrency) {
      settings.concurrency(concurrency);
      return this;
    }

    /**
     * Sets how many tasks may wait in the ready queue. Default {@value #DEFAULT_CAPACITY}.
     *
     * @param capacity at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code capacity} is less than 1
     */
    public Builder capacity(int capacity) {
      settings.capacity(capacity);
      return this;
    }

    /**
     * Sets the retry policy of tasks that set none. Default {@link RetryPolicy#defaults()}: 3 retries,
     * exponential backoff from 1 s to 1 min with ± 20 % jitter, no attempt timeout.
     *
     * @param retryPolicy the policy
     * @return this builder
     * @throws NullPointerException if {@code retryPolicy} is null
     */
    public Builder retryPolicy(RetryPolicy retryPolicy) {
      settings.retryPolicy(retryPolicy);
      return this;
    }

    /**
     * Sets the clock of deadlines, not-before times and retry times. Default {@link
     * InstantSource#system()}. The scheduler waits in real time for the spans this clock reports.
     *
     * @param clock the clock
     * @return this builder
     * @throws NullPointerException if {@code clock} is null
     */
    public Builder clock(InstantSource clock) {
      settings.clock(clock);
      return this;
    }

    /**
     * Sets the source of backoff jitter. Default {@link RandomGenerator#getDefault()}, one per queue.
     * The queue calls it only under its lock, so it need not be thread-safe.
     *
     * @param random the random source
     * @return this builder
     * @throws NullPointerException if {@code random} is null
     */
    public Builder random(RandomGenerator random) {
      settings.random(random);
      return this;
    }

    /**
     * Adds a listener; listeners are called in the order added. Default: none.
     *
     * @param listener the listener
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder listener(WorkQueueListener listener) {
      settings.listener(listener);
      return this;
    }

    /**
     * Sets the factory of attempt threads. Default: virtual threads, all named {@code loomwork-NAME}
     * (one name per queue: formatting a numbered name for every thread costs more than the rest of
     * a task's hand-off).
     *
     * @param threadFactory the factory
     * @return this builder
     * @throws NullPointerException if {@code threadFactory} is null
     */
    public Builder threadFactory(ThreadFactory threadFactory) {
      settings.threadFactory(threadFactory);
      return this;
    }

    /**
     * Sets how long a cancelling shutdown waits for interrupted attempts to end before it reports them
     * as abandoned. Default 1 s.
     *
     * @param abandonAfter at least zero
     * @return this builder
     * @throws NullPointerException if {@code abandonAfter} is null
     * @throws IllegalArgumentException if {@code abandonAfter} is negative
     */
    public Builder abandonAfter(Duration abandonAfter) {
      settings.abandonAfter(abandonAfter);
      return this;
    }

    /**
     * Sets how often a draining shutdown logs its progress at INFO. Default 5 s.
     *
     * @param progressInterval positive
     * @return this builder
     * @throws NullPointerException if {@code progressInterval} is null
     * @throws IllegalArgumentException if {@code progressInterval} is not positive
     */
    public Builder progressInterval(Duration progressInterval) {
      settings.progressInterval(progressInterval);
      return this;
    }

    /**
     * Publishes the queue's metrics to {@code registry}: counters of tasks submitted, completed (by
     * outcome) and rejected (by reason), of attempts (by outcome) and of retries; gauges of ready,
     * running and waiting tasks, of the oldest ready task's age, of the capacity and concurrency
     * limits and of the lifecycle state; timers of the wait before the first attempt and of attempt
     * durations (by outcome), with histogram buckets from 1 ms to 10 min ({@link
     * #timerBuckets(Duration...)}). Every meter is tagged {@code queue}. The meters are registered by
     * {@link #build()}. If the registry fails, the queue logs it and runs on. Default: no metrics.
     *
     * <p>One live queue per name and registry: {@link #build()} refuses a queue whose name is held in
     * {@code registry} by a queue that has not terminated. A terminated queue keeps its meters, with
     * their last values, until the next queue of its name replaces them.
     *
     * @param registry the registry, for example a {@code PrometheusMeterRegistry}
     * @return this builder
     * @throws NullPointerException if {@code registry} is null
     */
    public Builder meterRegistry(MeterRegistry registry) {
      settings.meterRegistry(registry);
      return this;
    }

    /**
     * Observes every attempt with Micrometer Observation: each attempt is a {@code loomwork.attempt}
     * observation, in scope while its body runs (on the body's thread), whose parent is the
     * observation that was current where the task was enqueued: the submitter's for a task of this
     * process's memory, captured at acceptance; for a durable task, the trace context its row keeps
     * from its enqueue ({@link PostgresStore.Builder#observationRegistry}), so an attempt in another
     * process continues the enqueueing request's trace. A retry is another attempt observation in the
     * same trace. Keys, all of low cardinality: {@code loomwork.queue}, {@code loomwork.handler} (a
     * typed task's handler name, or {@code closure}) and {@code loomwork.outcome} (how the attempt
     * ended, as {@link WorkQueueListener.AttemptOutcome}, lower case). With Micrometer Tracing's
     * handlers on the registry each observation is a span. If the registry fails, the queue logs it
     * and runs the attempt unobserved. Default: none, and no attempt allocates anything for it.
     *
     * @param registry the registry, for example Spring Boot's {@code ObservationRegistry} bean
     * @return this builder
     * @throws NullPointerException if {@code registry} is null
     */
    public Builder observationRegistry(ObservationRegistry registry) {
      settings.observationRegistry(Objects.requireNonNull(registry, "registry"));
      return this;
    }

    /**
     * Carries the submitter's MDC (slf4j's mapped diagnostic context) to the attempts of the tasks it
     * enqueues on this queue: a copy is taken at acceptance and is the MDC of the body's thread while
     * each attempt runs, so its log lines carry the request's keys. Tasks of this process's memory
     * only: a durable task's attempts may run in another process, and its row keeps no MDC. Default:
     * off, and nothing is copied.
     *
     * @return this builder
     */
    public Builder carryMdc() {
      settings.carryMdc();
      return this;
    }

    /**
     * Sets the histogram buckets (Micrometer's service-level objectives) of the two timers, {@code
     * loomwork.tasks.wait} and {@code loomwork.attempts.duration}: each becomes a {@code le} bucket in
     * Prometheus. Only used with a {@link #meterRegistry(MeterRegistry) registry}. Default {@link
     * #DEFAULT_TIMER_BUCKETS}, 1 ms to 10 min.
     *
     * @param buckets the bucket bounds: at least one, each positive, in strictly ascending order
     * @return this builder
     * @throws NullPointerException if {@code buckets} or one of them is null
     * @throws IllegalArgumentException if there is none, one is not positive, or they do not ascend
     */
    public Builder timerBuckets(Duration... buckets) {
      settings.timerBuckets(buckets);
      return this;
    }

    /**
     * Registers the handler of the tasks of {@code type}: every typed task of that type (or of
     * another type with the same handler name, as a re-queued task is) runs this handler, with its
     * payload decoded by {@code type}'s codec. One handler per name.
     *
     * @param type the task type
     * @param handler its body
     * @param <P> the payload type
     * @return this builder
     * @throws NullPointerException if an argument is null
     */
    public <P extends @Nullable Object> Builder handle(TaskType<P> type, TaskHandler<? super P> handler) {
      settings.handle(type, handler);
      return this;
    }

    /**
     * Sets how attempts sit in the queue's {@code StructuredTaskScope} with the structured runner.
     * Default {@link AttemptScope#SHARED}. The semantics are the same either way.
     *
     * @param attemptScope the shape of an attempt
     * @return this builder
     * @throws NullPointerException if {@code attemptScope} is null
     */
    public Builder attemptScope(AttemptScope attemptScope) {
      settings.attemptScope(attemptScope);
      return this;
    }

    /**
     * Makes the queue durable: it runs tasks from a PostgreSQL store, claimed by this process's
     * worker, and writes their outcomes back; tasks survive a crash, and every process whose queue
     * of this name uses the store shares them. Enqueue with {@link PostgresStore#enqueue(String,
     * Task)}: the queue's own enqueue methods refuse work, since a durable task may run in another
     * process and no handle here can await it. Only typed tasks whose handlers are registered with
     * {@link #handle} are claimed.
     *
     * @param store the store
     * @return this builder
     * @throws NullPointerException if {@code store} is null
     */
    public Builder store(PostgresStore store) {
      settings.store(store);
      return this;
    }

    /**
     * Declares a recurring task: from the queue's start until its shutdown, each tick of its
     * schedule enqueues a task of its type, as {@link RecurringTask} describes. Its status, pause,
     * resume and trigger are in {@link WorkQueue#recurring()}. Default: none.
     *
     * @param task the declaration; its type needs a handler on this queue, checked by {@link #build()}
     * @return this builder
     * @throws NullPointerException if {@code task} is null
     * @throws IllegalArgumentException if a recurring task of the same name was declared already
     */
    public Builder recurring(RecurringTask<?> task) {
      settings.recurring(task);
      return this;
    }

    /**
     * Builds the queue. It accepts tasks at once and runs them once started.
     *
     * @return a new queue
     * @throws IllegalArgumentException if two handlers were registered under one name, or a recurring
     *     task's type has no handler
     * @throws IllegalStateException if the {@link #meterRegistry(MeterRegistry) registry} has the
     *     meters of another queue of this name that has not terminated
     */
    public WorkQueue build() {
      return new WorkQueue(settings.build());
    }
  }
}
