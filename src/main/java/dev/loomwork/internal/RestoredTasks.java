package dev.loomwork.internal;

import dev.loomwork.RetryPolicy;
import dev.loomwork.TaskType;
import dev.loomwork.internal.DurableBackend.Claimed;

/**
 * Makes a task of this process for a row claimed from a durable store: its handler's type, its
 * retries from the row (the maximum attempts were fixed at enqueue), its deadline, and the ids that
 * fence its outcome.
 */
final class RestoredTasks {
  private final QueueEngine queue;
  private final Handlers handlers;
  private final RetryPolicy queueDefault;

  RestoredTasks(QueueEngine queue, Handlers handlers, RetryPolicy queueDefault) {
    this.queue = queue;
    this.handlers = handlers;
    this.queueDefault = queueDefault;
  }

  /** The handlers this worker claims tasks of, each with the newest payload version it reads. */
  java.util.Map<String, Integer> handlerVersions() {
    return handlers.versions();
  }

  /** The task for a claimed row; not yet filed. */
  TaskCore<?> task(Claimed c) {
    TaskCore<?> t = Access.core(Access.restored(c.handler(), c.payloadJson(), Long.toString(c.id())));
    t.name(c.name() != null ? c.name() : c.handler() + "#" + c.id()); // the number here is no name
    TaskType<?> type = handlers.type(c.handler());
    RetryPolicy p = type != null && type.retryPolicy() != null ? type.retryPolicy() : queueDefault;
    // As TaskCore.resolve does for a task in memory: the type's timeout unless the task set a policy
    // of its own, which a durable task cannot (the store refuses it), whatever the type's policy.
    if (type != null && type.attemptTimeout() != null) {
      p = p.withAttemptTimeout(type.attemptTimeout());
    }
    t.retryPolicy(p.withRetries(Math.max(0, c.maxAttempts() - 1)));
    t.resolve(queueDefault, null);
    t.deadline(c.deadline());
    handlers.bind(t, queue.name());
    t.storeId = c.id();
    t.storeAttempt = c.attempt();
    t.scheduledAt = ScheduleStore.scheduledAt(c.uniqueKey()); // a recurring task's tick, or null
    t.attempts = c.attempt() - 1;
    t.trace = Tracing.TraceContext.of(c.traceparent(), c.tracestate());
    return t;
  }
}
