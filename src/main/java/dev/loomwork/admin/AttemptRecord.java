package dev.loomwork.admin;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One attempt of a durable task, as its store recorded it when the attempt ended (or as the task's
 * row shows the attempt that runs now).
 *
 * @param attempt its number, from 1; a {@linkplain AttemptOutcome#RELEASED released} attempt's
 *     number is used again by the next
 * @param startedAt when its worker claimed the task, by the store's clock
 * @param endedAt when its outcome was written, or null while it runs
 * @param worker the id of the worker that ran it ({@link WorkerInfo#id()}), or null if not known
 * @param outcome how it ended
 * @param errorType the class name of its error, or null if it did not fail
 * @param errorMessage its error's message, or null; at most {@value #MAX_MESSAGE} characters
 * @param stackTrace its error's stack trace, or null; at most {@value #MAX_STACK} characters, 20
 *     frames
 */
public record AttemptRecord(
    int attempt,
    Instant startedAt,
    @Nullable Instant endedAt,
    @Nullable Long worker,
    AttemptOutcome outcome,
    @Nullable String errorType,
    @Nullable String errorMessage,
    @Nullable String stackTrace) {

  /** The longest error message a store keeps for an attempt, in characters. */
  public static final int MAX_MESSAGE = 2_000;

  /** The longest stack trace a store keeps for an attempt, in characters. */
  public static final int MAX_STACK = 8_000;

  /** Checks that no required component is null. */
  public AttemptRecord {
    Objects.requireNonNull(startedAt, "startedAt");
    Objects.requireNonNull(outcome, "outcome");
  }
}
