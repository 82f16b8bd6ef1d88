package dev.loomwork.internal;

import dev.loomwork.TaskSnapshot;

/**
 * A task not yet ended, as an operator's view ({@code MemoryAdmin}) reads it from a queue's books.
 *
 * @param snapshot the task at that moment
 * @param readyNanos how long a ready task has been ready; -1 for one that is not ready
 */
public record LiveTask(TaskSnapshot snapshot, long readyNanos) {}
