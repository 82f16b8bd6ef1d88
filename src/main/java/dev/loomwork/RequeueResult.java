package dev.loomwork;

import java.util.List;

/**
 * What {@link WorkQueue#requeue} did with a report.
 *
 * @param requeued typed tasks enqueued
 * @param duplicates typed tasks not enqueued because a task with the same id was already pending or
 *     running on the queue (a report re-queued twice runs each task once)
 * @param notRequeueable closures: a report lists them, but a closure cannot be written down
 * @param skipped the lines that could not be read or re-queued, each naming its line number and why
 */
public record RequeueResult(int requeued, int duplicates, int notRequeueable, List<String> skipped) {

  /** Makes the list immutable. */
  public RequeueResult {
    skipped = List.copyOf(skipped);
  }
}
