package dev.loomwork.internal;

import dev.loomwork.AttemptScope;
import dev.loomwork.RetryPolicy;
import dev.loomwork.WorkQueueListener;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.random.RandomGenerator;
import io.micrometer.core.instrument.MeterRegistry;
import org.jspecify.annotations.Nullable;

/**
 * A queue's validated settings, handed from {@code WorkQueue.Builder} to the engine.
 *
 * @param name the queue's name
 * @param concurrency attempts in flight at most
 * @param capacity ready tasks at most (new submissions only; retries always fit)
 * @param retryPolicy the default policy of tasks that set none
 * @param clock the clock of deadlines, not-before times and backoff
 * @param random the source of backoff jitter, only used under the queue's lock
 * @param listeners the event listeners
 * @param threadFactory makes attempt threads
 * @param abandonAfter how long a cancelling shutdown waits for interrupted attempts
 * @param progressInterval how often a draining shutdown logs its progress
 * @param meterRegistry where to register the queue's meters, or null for none
 * @param handlers the handlers of typed tasks, in the order they were registered
 * @param attemptScope how attempts sit in the queue's scope (structured runner)
 * @param timerBuckets the histogram buckets of the wait and attempt timers, ascending
 * @param store the durable store's I/O, or null for a queue in memory
 * @param observationRegistry where attempts are observed (an {@code ObservationRegistry}), or null
 * @param carryMdc whether a task of this process's memory carries its submitter's MDC to its attempts
 */
public record QueueConfig(
    String name,
    int concurrency,
    int capacity,
    RetryPolicy retryPolicy,
    InstantSource clock,
    RandomGenerator random,
    List<WorkQueueListener> listeners,
    ThreadFactory threadFactory,
    Duration abandonAfter,
    Duration progressInterval,
    @Nullable MeterRegistry meterRegistry,
    List<Handlers.Registration> handlers,
    AttemptScope attemptScope,
    List<Duration> timerBuckets,
    @Nullable DurableBackend store,
    @Nullable Object observationRegistry,
    boolean carryMdc) {}
