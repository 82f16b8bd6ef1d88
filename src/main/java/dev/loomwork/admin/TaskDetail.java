package dev.loomwork.admin;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One task in full.
 *
 * @param summary its row, as a list shows it
 * @param payloadJson a typed task's payload, as its codec's JSON text; null for a closure
 * @param deadline its deadline, or null
 * @param uniqueKey its unique key, or null (memory tasks have none)
 * @param cancelRequested whether a cancel was asked for while an attempt ran
 * @param worker the worker running it now ({@link WorkerInfo#id()}), or null if it is not running
 *     or is a memory task
 * @param attempts every attempt a durable store recorded, oldest first, the one running now
 *     included; empty for a memory task, which keeps only its {@linkplain TaskSummary#errorType()
 *     last error}
 */
public record TaskDetail(
    TaskSummary summary,
    @Nullable String payloadJson,
    @Nullable Instant deadline,
    @Nullable String uniqueKey,
    boolean cancelRequested,
    @Nullable Long worker,
    List<AttemptRecord> attempts) {

  /** Copies the list. */
  public TaskDetail {
    Objects.requireNonNull(summary, "summary");
    attempts = List.copyOf(attempts);
  }
}
