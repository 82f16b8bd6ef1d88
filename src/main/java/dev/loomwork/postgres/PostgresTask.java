package dev.loomwork.postgres;

import dev.loomwork.TaskState;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * A task's row in a {@link PostgresStore}, as {@link PostgresStore#find(long)} read it.
 *
 * @param id the task's id
 * @param queue the queue that runs it
 * @param handler its handler's name
 * @param payloadJson its payload, as JSON text (as PostgreSQL's {@code jsonb} writes it back)
 * @param name its name, or null
 * @param state {@code READY} (due), {@code WAITING} (not yet due: a not-before time or a retry's
 *     backoff), {@code RUNNING}, or how it ended
 * @param attempts the attempts started so far
 * @param maxAttempts the attempts it may take
 * @param runAt when it is (or was) due
 * @param deadline its deadline, or null
 * @param cancelRequested whether a cancel was requested while it ran
 * @param lastErrorJson its last error as JSON ({@code type}, {@code message}, {@code stack}, {@code
 *     attempt}, {@code worker}), or null
 */
public record PostgresTask(
    long id,
    String queue,
    String handler,
    String payloadJson,
    @Nullable String name,
    TaskState state,
    int attempts,
    int maxAttempts,
    Instant runAt,
    @Nullable Instant deadline,
    boolean cancelRequested,
    @Nullable String lastErrorJson) {}
