package dev.loomwork;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What a task looked like at one moment, for reports.
 *
 * @param queue the queue's name
 * @param name the task's name
 * @param state its state at that moment (for a task a shutdown cut, the state it was cut in)
 * @param attempts how many attempts it had started
 * @param lastError its last failure, or null
 * @param nextAttemptAt when its next attempt was due, or null if none was scheduled
 */
public record TaskSnapshot(
    String queue,
    String name,
    TaskState state,
    int attempts,
    @Nullable Throwable lastError,
    @Nullable Instant nextAttemptAt) {}
