package dev.loomwork;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What a task looked like at one moment, for reports.
 *
 * @param queue the queue's name
 * @param id the task's stable id ({@link TaskContext#taskId()})
 * @param name the task's name
 * @param handler a typed task's handler name, or null for a closure (which cannot be re-queued)
 * @param payload a typed task's payload, as its codec's JSON text, or null for a closure
 * @param state its state at that moment (for a task a shutdown cut, the state it was cut in)
 * @param attempts how many attempts it had started
 * @param lastError its last failure, or null
 * @param nextAttemptAt when its next attempt was due, or null if none was scheduled
 */
public record TaskSnapshot(
    String queue,
    String id,
    String name,
    @Nullable String handler,
    @Nullable String payload,
    TaskState state,
    int attempts,
    @Nullable Throwable lastError,
    @Nullable Instant nextAttemptAt) {}
