package dev.loomwork.internal;

import dev.loomwork.AttemptScope;
import dev.loomwork.RecurringTask;
import dev.loomwork.RecurringTasks;
import dev.loomwork.RetryPolicy;
import dev.loomwork.Schedule;
import dev.loomwork.TaskHandler;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueueListener;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import java.util.function.ToIntFunction;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * The body of {@code WorkQueue.Builder}: the settings of a queue being built, each validated as it
 * is set (with the message {@code docs/semantics.md} lists), and what {@link #build()} makes of them.
 * The public builder keeps its name, its defaults and its javadoc, and hands every call here. Not
 * thread-safe, as the builder is not.
 */
public final class QueueSettings {
  private final String name;
  private int concurrency;
  private int capacity;
  private RetryPolicy retryPolicy = RetryPolicy.defaults();
  private InstantSource clock = InstantSource.system();
  private @Nullable RandomGenerator random;
  private final List<WorkQueueListener> listeners = new ArrayList<>();
  private @Nullable ThreadFactory threadFactory;
  private Duration abandonAfter;
  private Duration progressInterval;
  private @Nullable MeterRegistry meterRegistry;
  private final List<Handlers.Registration> handlers = new ArrayList<>();
  private AttemptScope attemptScope = AttemptScope.SHARED;
  private @Nullable DurableBackend backend;
  private @Nullable ScheduleStore schedules;
  private List<Duration> timerBuckets;
  private final Map<String, RecurringTask<?>> recurring = new LinkedHashMap<>();
  private @Nullable Object observationRegistry;
  private boolean carryMdc;

  /**
   * Starts the settings of queue {@code name}, with the builder's defaults.
   *
   * @param name the queue's name
   * @param concurrency the default concurrency
   * @param capacity the default capacity
   * @param abandonAfter the default abandon-after
   * @param progressInterval the default progress interval
   * @param timerBuckets the default timer buckets
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if {@code name} is blank
   */
  public QueueSettings(
      String name,
      int concurrency,
      int capacity,
      Duration abandonAfter,
      Duration progressInterval,
      List<Duration> timerBuckets) {
    Objects.requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException("name: '" + name + "' (expected: not blank)");
    }
    this.name = name;
    this.concurrency = concurrency;
    this.capacity = capacity;
    this.abandonAfter = abandonAfter;
    this.progressInterval = progressInterval;
    this.timerBuckets = timerBuckets;
  }

  public void concurrency(int concurrency) {
    if (concurrency < 1) {
      throw new IllegalArgumentException("concurrency: " + concurrency + " (expected: >= 1)");
    }
    this.concurrency = concurrency;
  }

  public void capacity(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
    }
    this.capacity = capacity;
  }

  public void retryPolicy(RetryPolicy retryPolicy) {
    this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
  }

  public void clock(InstantSource clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public void random(RandomGenerator random) {
    this.random = Objects.requireNonNull(random, "random");
  }

  public void listener(WorkQueueListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  public void threadFactory(ThreadFactory threadFactory) {
    this.threadFactory = Objects.requireNonNull(threadFactory, "threadFactory");
  }

  public void abandonAfter(Duration abandonAfter) {
    Objects.requireNonNull(abandonAfter, "abandonAfter");
    if (abandonAfter.isNegative()) {
      throw new IllegalArgumentException("abandonAfter: " + abandonAfter + " (expected: >= 0)");
    }
    this.abandonAfter = abandonAfter;
  }

  public void progressInterval(Duration progressInterval) {
    Objects.requireNonNull(progressInterval, "progressInterval");
    if (progressInterval.isNegative() || progressInterval.isZero()) {
      throw new IllegalArgumentException("progressInterval: " + progressInterval + " (expected: > 0)");
    }
    this.progressInterval = progressInterval;
  }

  public void meterRegistry(MeterRegistry registry) {
    this.meterRegistry = Objects.requireNonNull(registry, "registry");
  }

  public void timerBuckets(Duration... buckets) {
    Objects.requireNonNull(buckets, "timerBuckets");
    if (buckets.length == 0) {
      throw new IllegalArgumentException("timerBuckets: none (expected: at least one)");
    }
    Duration[] copy = buckets.clone();
    for (int i = 0; i < copy.length; i++) {
      Duration bucket = Objects.requireNonNull(copy[i], "timerBuckets[" + i + "]");
      if (bucket.isNegative() || bucket.isZero()) {
        throw new IllegalArgumentException("timerBuckets[" + i + "]: " + bucket + " (expected: > 0)");
      }
      if (i > 0 && bucket.compareTo(copy[i - 1]) <= 0) {
        throw new IllegalArgumentException(
            "timerBuckets[" + i + "]: " + bucket + " (expected: > timerBuckets[" + (i - 1) + "] " + copy[i - 1]
                + ", ascending)");
      }
    }
    this.timerBuckets = List.of(copy);
  }

  public <P extends @Nullable Object> void handle(TaskType<P> type, TaskHandler<? super P> handler) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(handler, "handler");
    handlers.add(new Handlers.Registration(type, handler));
  }

  public void attemptScope(AttemptScope attemptScope) {
    this.attemptScope = Objects.requireNonNull(attemptScope, "attemptScope");
  }

  /**
   * @param store a {@code PostgresStore}, typed as Object so that the engine does not depend on the
   *     store's package: its I/O and its schedule table are taken through the passages it installed
   */
  public void store(Object store) {
    Objects.requireNonNull(store, "store");
    this.backend = Access.backend(store);
    this.schedules = ScheduleStore.Passage.of(store);
  }

  /** @param registry an {@code ObservationRegistry}, typed as Object so that Micrometer stays optional */
  public void observationRegistry(Object registry) {
    this.observationRegistry = Objects.requireNonNull(registry, "registry");
  }

  public void carryMdc() {
    this.carryMdc = true;
  }

  public void recurring(RecurringTask<?> task) {
    Objects.requireNonNull(task, "task");
    if (recurring.containsKey(task.name())) {
      throw new IllegalArgumentException(
          "task: '" + task.name() + "' is declared twice on queue '" + name
              + "' (expected: one recurring task per name)");
    }
    recurring.put(task.name(), task);
  }

  /**
   * What a queue is made of: its engine, and its recurring tasks (none, in memory, or durable).
   *
   * @param engine the engine
   * @param recurring what {@code WorkQueue.recurring()} returns
   * @param runner the same, to begin and stop with the queue; null if none was declared
   */
  public record Parts(QueueEngine engine, RecurringTasks recurring, @Nullable RecurringRunner runner) {
    /** Starts the recurring tasks' ticks, if the queue has any; idempotent. */
    public void beginRecurring() {
      if (runner != null) {
        runner.begin();
      }
    }

    /** Stops the recurring tasks' ticks for good, if the queue has any; idempotent. */
    public void stopRecurring() {
      if (runner != null) {
        runner.stop();
      }
    }
  }

  /**
   * Checks the settings as a whole and makes the queue's parts, registering its meters.
   *
   * @return the parts
   * @throws IllegalArgumentException if two handlers were registered under one name, or a recurring
   *     task's type has no handler, or a durable queue's recurring task runs at a fixed delay
   * @throws IllegalStateException if the registry has the meters of a live queue of this name
   */
  public Parts build() {
    for (RecurringTask<?> r : recurring.values()) {
      String handler = r.type().handler();
      if (handlers.stream().noneMatch(h -> h.type().handler().equals(handler))) {
        throw new IllegalArgumentException(
            "recurring task '" + r.name() + "': queue '" + name + "' has no handler for '" + handler
                + "' (register one with WorkQueue.Builder.handle)");
      }
      if (backend != null && r.schedule().kind() == Schedule.Kind.FIXED_DELAY) {
        throw new IllegalArgumentException(
            "recurring task '" + r.name() + "': " + r.schedule() + " runs on queues in memory only"
                + " (a durable queue's ticks need a time every process agrees on: use fixedRate or cron)");
      }
    }
    QueueEngine engine =
        MeterNames.create(
            new QueueConfig(
                name,
                concurrency,
                capacity,
                retryPolicy,
                clock,
                random != null ? random : RandomGenerator.getDefault(),
                List.copyOf(listeners),
                threadFactory != null ? threadFactory : Thread.ofVirtual().name("loomwork-" + name).factory(),
                abandonAfter,
                progressInterval,
                meterRegistry,
                List.copyOf(handlers),
                attemptScope,
                timerBuckets,
                backend,
                observationRegistry,
                carryMdc));
    if (recurring.isEmpty()) {
      return new Parts(engine, Recurrences.none(name), null);
    }
    List<RecurringTask<?>> declared = List.copyOf(recurring.values());
    TickMeter meter = TickMeter.NONE;
    if (meterRegistry != null) {
      try {
        meter = TickMeter.of(meterRegistry, name, declared.stream().map(RecurringTask::name).toList());
      } catch (RuntimeException e) {
        Log.LOG.warn("queue '{}': could not register the meters of its recurring tasks", name, e);
      }
    }
    RecurringRunner runner =
        schedules == null
            ? new Recurrences(engine, declared, meter)
            : new DurableRecurrences(engine, schedules, declared, meter, maxAttempts(List.copyOf(handlers)));
    return new Parts(engine, runner, runner);
  }

  /** The attempts of a handler's tasks made by a durable schedule: its type's retries, or the queue's. */
  private ToIntFunction<String> maxAttempts(List<Handlers.Registration> registered) {
    RetryPolicy queue = retryPolicy;
    return handler -> {
      for (Handlers.Registration r : registered) {
        if (r.type().handler().equals(handler) && r.type().retryPolicy() != null) {
          return r.type().retryPolicy().retries() + 1;
        }
      }
      return queue.retries() + 1;
    };
  }
}
