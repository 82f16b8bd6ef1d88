package dev.loomwork.admin;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A live worker of a durable store: one running queue instance in some process, holding a lease it
 * renews.
 *
 * @param id its id, the owner of the tasks it claims
 * @param queue the queue it runs
 * @param host the host name of its process, or null if it did not record one
 * @param pid its process's id, or null if it did not record one
 * @param handlers the handlers it claims tasks of, sorted; empty if it did not record them
 * @param concurrency the attempts it runs at once at most; 0 if it did not record it
 * @param claimed the tasks it runs now
 * @param startedAt when it registered
 * @param heartbeatAt when it last renewed its lease
 * @param expiresAt when its lease expires unless renewed
 */
public record WorkerInfo(
    long id,
    String queue,
    @Nullable String host,
    @Nullable Long pid,
    List<String> handlers,
    int concurrency,
    int claimed,
    Instant startedAt,
    Instant heartbeatAt,
    Instant expiresAt) {

  /** Copies the list and checks that no required component is null. */
  public WorkerInfo {
    Objects.requireNonNull(queue, "queue");
    handlers = List.copyOf(handlers);
    Objects.requireNonNull(startedAt, "startedAt");
    Objects.requireNonNull(heartbeatAt, "heartbeatAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }
}
