package dev.loomwork;

import dev.loomwork.internal.JsonLines;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * What a shutdown with a deadline left behind.
 *
 * <p>{@code succeeded} and {@code failed} count every task that completed since the queue was built;
 * on a durable queue, only those whose outcome the store wrote. {@code unwritten} counts the tasks of
 * a durable queue whose attempt ended here but whose outcome the store had not written when the
 * report was made (the database was unreachable, or the last write was still under way): the
 * store's rescuer runs them again once this worker's lease expires, unless the queue writes them
 * before it terminates.
 * {@code cancelled} lists the tasks the shutdown cancelled: those still pending or waiting out a
 * backoff when the deadline passed (with their attempts, last error and next attempt time), and those
 * whose running attempt ended when interrupted. {@code abandoned} lists the tasks whose attempt
 * ignored the interruption and was still running when the shutdown returned: Java cannot stop a
 * thread, so loomwork reports them instead of hanging. Such a task reaches its terminal state when
 * its body finally returns: cancelled, or failed if its attempt had already run past its timeout or
 * deadline before the shutdown cut it (and no retry was left).
 *
 * @param queue the queue's name
 * @param instance the queue instance's id (each built queue has its own)
 * @param reportedAt when the report was made, by the system clock
 * @param succeeded tasks that succeeded
 * @param failed tasks that failed
 * @param cancelled tasks the shutdown cancelled, in the order it cancelled them
 * @param abandoned tasks still running when the shutdown gave up on them
 * @param elapsed how long the shutdown took
 * @param unwritten tasks whose attempt ended here but whose outcome the store had not written; always
 *     0 on a queue in memory
 */
public record ShutdownReport(
    String queue,
    String instance,
    Instant reportedAt,
    long succeeded,
    long failed,
    List<TaskSnapshot> cancelled,
    List<TaskSnapshot> abandoned,
    Duration elapsed,
    long unwritten) {

  /** Makes the lists immutable. */
  public ShutdownReport {
    cancelled = List.copyOf(cancelled);
    abandoned = List.copyOf(abandoned);
  }

  /**
   * Creates a report with no unwritten outcome, as a queue in memory makes.
   *
   * @param queue the queue's name
   * @param instance the queue instance's id
   * @param reportedAt when the report was made
   * @param succeeded tasks that succeeded
   * @param failed tasks that failed
   * @param cancelled tasks the shutdown cancelled
   * @param abandoned tasks still running when the shutdown gave up on them
   * @param elapsed how long the shutdown took
   */
  public ShutdownReport(
      String queue,
      String instance,
      Instant reportedAt,
      long succeeded,
      long failed,
      List<TaskSnapshot> cancelled,
      List<TaskSnapshot> abandoned,
      Duration elapsed) {
    this(queue, instance, reportedAt, succeeded, failed, cancelled, abandoned, elapsed, 0);
  }

  /**
   * Writes one JSON object per line for every task the shutdown left unfinished: first the cancelled,
   * then the abandoned. Each line has the fields {@code reportedAt} and {@code instance} (of this
   * report), {@code queue}, {@code id}, {@code task} (its name), {@code handler} and {@code payload}
   * (a typed task's handler name and its payload as a JSON string; both null for a closure), {@code
   * outcome} ({@code "cancelled"} or {@code "abandoned"}), {@code state} (the state it was cut in),
   * {@code attempts}, {@code errorType} and {@code errorMessage} (of its last failure, or null), and
   * {@code nextAttemptAt} (ISO-8601, or null). The output is ASCII, one line per task; strings are
   * escaped as JSON requires. {@link WorkQueue#requeue} reads it back.
   *
   * <pre>{@code
   * {"reportedAt":"2026-11-28T10:15:31Z","instance":"4f0c...","queue":"webhooks","id":"4f0c...-7",
   *  "task":"hook-7","handler":"webhook","payload":"{\"url\":\"https://...\"}",
   *  "outcome":"cancelled","state":"WAITING","attempts":2,"errorType":"java.io.IOException",
   *  "errorMessage":"503","nextAttemptAt":"2026-11-28T10:15:30Z"}
   * }</pre>
   *
   * (one line in the output; wrapped here).
   *
   * @param out where to write, for example a {@code BufferedWriter}
   * @throws IOException if {@code out} throws
   */
  public void writeJsonLines(Appendable out) throws IOException {
    for (TaskSnapshot task : cancelled) {
      JsonLines.write(out, this, task, "cancelled");
    }
    for (TaskSnapshot task : abandoned) {
      JsonLines.write(out, this, task, "abandoned");
    }
  }

  /**
   * Returns {@link #writeJsonLines(Appendable)}'s output as a string.
   *
   * @return the JSON Lines, empty if the queue drained
   */
  public String toJsonLines() {
    StringBuilder out = new StringBuilder();
    try {
      writeJsonLines(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringBuilder never throws
    }
    return out.toString();
  }

  /**
   * Tells whether the queue drained completely: nothing was cancelled or abandoned.
   *
   * @return true if every accepted task ran to completion
   */
  public boolean drained() {
    return cancelled.isEmpty() && abandoned.isEmpty();
  }
}
