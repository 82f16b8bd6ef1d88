package dev.loomwork.internal;

import org.jspecify.annotations.Nullable;

/**
 * The tasks with an attempt in flight, linked through their own {@code prevRunning}/{@code
 * nextRunning} fields: adding and removing allocate nothing and hash nothing, which keeps the queue's
 * lock short on the hot path. Guarded by the queue's lock; a task is in at most one list.
 */
final class RunningList {
  @Nullable TaskCore<?> head;
  private int size;

  int size() {
    return size;
  }

  void link(TaskCore<?> t) {
    t.prevRunning = null;
    t.nextRunning = head;
    if (head != null) {
      head.prevRunning = t;
    }
    head = t;
    size++;
  }

  void unlink(TaskCore<?> t) {
    TaskCore<?> prev = t.prevRunning;
    TaskCore<?> next = t.nextRunning;
    if (prev == null && head != t) {
      return; // not in the list
    }
    if (prev == null) {
      head = next;
    } else {
      prev.nextRunning = next;
    }
    if (next != null) {
      next.prevRunning = prev;
    }
    t.prevRunning = null;
    t.nextRunning = null;
    size--;
  }
}
