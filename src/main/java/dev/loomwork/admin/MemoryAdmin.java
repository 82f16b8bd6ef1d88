package dev.loomwork.admin;

import dev.loomwork.QueueHealth;
import dev.loomwork.QueueStats;
import dev.loomwork.TaskSnapshot;
import dev.loomwork.TaskState;
import dev.loomwork.WorkQueue;
import dev.loomwork.internal.Access;
import dev.loomwork.internal.LiveTask;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * A read-only admin of the in-memory queues an application registers with it: their counts and
 * health, and the tasks each runs, holds ready or keeps waiting. Ended tasks are not kept in memory,
 * so lists and counts show the tasks not yet ended, and a task's detail has no attempt history
 * (only its last error). Thread-safe: queues may be registered while others read.
 *
 * <pre>{@code
 * MemoryAdmin admin = MemoryAdmin.of(emailQueue, webhookQueue);
 * for (QueueOverview q : admin.queues()) {
 *   System.out.println(q.queue() + ": " + q.outstanding() + " outstanding");
 * }
 * }</pre>
 *
 * <p>Each read holds a queue's lock once, for at most {@value #MAX_TASKS_PER_QUEUE} tasks of that
 * queue: a list shows at most that many of each queue, running ones first, then ready ones in
 * their order, then waiting ones. The first list of a queue turns on the stamping of tasks as they
 * become ready, as {@link WorkQueue#health()} does, so that a ready task's {@link
 * TaskSummary#runAt()} says since when it is ready; a task already ready then counts from that
 * first call.
 */
public final class MemoryAdmin implements QueueAdmin {

  /** The most tasks of one queue a read looks at. */
  public static final int MAX_TASKS_PER_QUEUE = 10_000;

  /** The queues, by name; the map is concurrent, so registering needs no lock of this class. */
  private final ConcurrentSkipListMap<String, WorkQueue> queues = new ConcurrentSkipListMap<>();

  private MemoryAdmin() {}

  /**
   * An admin of some queues; more may be {@linkplain #register registered} later.
   *
   * @param queues the queues, with distinct names
   * @return the admin
   * @throws IllegalArgumentException if two queues have the same name
   */
  public static MemoryAdmin of(WorkQueue... queues) {
    MemoryAdmin admin = new MemoryAdmin();
    for (WorkQueue q : queues) {
      admin.register(q);
    }
    return admin;
  }

  /**
   * Adds a queue to those this admin shows. A queue stays shown after it terminates, until it is
   * {@linkplain #unregister unregistered}.
   *
   * @param queue the queue
   * @return this admin
   * @throws IllegalArgumentException if another queue of that name is registered
   */
  public MemoryAdmin register(WorkQueue queue) {
    Objects.requireNonNull(queue, "queue");
    WorkQueue before = queues.putIfAbsent(queue.name(), queue);
    if (before != null && before != queue) {
      throw new IllegalArgumentException(
          "queue: '" + queue.name() + "' (expected: a name no registered queue has)");
    }
    return this;
  }

  /**
   * Removes a queue from those this admin shows.
   *
   * @param queue the queue
   * @return true if it was registered
   */
  public boolean unregister(WorkQueue queue) {
    Objects.requireNonNull(queue, "queue");
    return queues.remove(queue.name(), queue);
  }

  /**
   * The registered queues, by name.
   *
   * @return the queues
   */
  public List<WorkQueue> registered() {
    return List.copyOf(queues.values());
  }

  @Override
  public List<QueueOverview> queues() {
    List<QueueOverview> overviews = new ArrayList<>(queues.size());
    for (WorkQueue q : queues.values()) {
      QueueHealth h = q.health();
      QueueStats s = q.stats();
      overviews.add(
          new QueueOverview(
              q.name(), QueueKind.MEMORY, false, h.ready(), h.waiting(), h.running(),
              s.succeeded(), s.failed(), s.cancelled(), h));
    }
    return overviews;
  }

  @Override
  public List<TaskCount> counts(TaskFilter filter) {
    Objects.requireNonNull(filter, "filter");
    Map<List<Object>, Long> cells = new TreeMap<>(CELL_ORDER);
    for (TaskSummary t : matching(filter)) {
      cells.merge(List.of(t.queue(), t.handler() == null ? "" : t.handler(), t.state()), 1L, Long::sum);
    }
    List<TaskCount> counts = new ArrayList<>(cells.size());
    cells.forEach(
        (k, n) -> counts.add(new TaskCount((String) k.get(0), (String) k.get(1), (TaskState) k.get(2), n)));
    return counts;
  }

  private static final Comparator<List<Object>> CELL_ORDER =
      Comparator.<List<Object>, String>comparing(k -> (String) k.get(0))
          .thenComparing(k -> (String) k.get(1))
          .thenComparing(k -> (TaskState) k.get(2));

  /**
   * {@inheritDoc} In memory, the order is by acceptance (a task's number in its queue, the end of
   * its id), then by queue; a task re-queued from a report, whose id has no number, comes after.
   * A filter with a creation time range matches no memory task: the time is not kept.
   */
  @Override
  public TaskPage list(TaskFilter filter, PageRequest page) {
    Objects.requireNonNull(filter, "filter");
    Objects.requireNonNull(page, "page");
    Comparator<TaskSummary> order =
        page.order() == PageRequest.Order.OLDEST_FIRST ? ORDER : ORDER.reversed();
    TaskSummary after = page.after() == null ? null : decode(page.after());
    List<TaskSummary> rows = new ArrayList<>();
    for (TaskSummary t : matching(filter)) {
      if (after == null || order.compare(t, after) > 0) {
        rows.add(t);
      }
    }
    rows.sort(order);
    if (rows.size() <= page.size()) {
      return new TaskPage(rows, null);
    }
    List<TaskSummary> tasks = rows.subList(0, page.size());
    return new TaskPage(tasks, encode(tasks.getLast()));
  }

  @Override
  public Optional<TaskDetail> task(String queue, String id) {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(id, "id");
    WorkQueue q = queues.get(queue);
    if (q == null) {
      return Optional.empty();
    }
    Instant now = Instant.now();
    for (LiveTask live : Access.engine(q).liveTasks(MAX_TASKS_PER_QUEUE)) {
      if (live.snapshot().id().equals(id)) {
        return Optional.of(
            new TaskDetail(summary(live, now), live.snapshot().payload(), null, null, false, null, List.of()));
      }
    }
    return Optional.empty();
  }

  private List<TaskSummary> matching(TaskFilter filter) {
    List<TaskSummary> rows = new ArrayList<>();
    if (filter.createdFrom() != null || filter.createdBefore() != null) {
      return rows; // memory tasks have no creation time
    }
    Iterable<WorkQueue> which =
        filter.queue() == null
            ? queues.values()
            : Optional.ofNullable(queues.get(filter.queue())).map(List::of).orElse(List.of());
    Instant now = Instant.now();
    String text = filter.errorContains() == null ? null : filter.errorContains().toLowerCase(Locale.ROOT);
    for (WorkQueue q : which) {
      for (LiveTask live : Access.engine(q).liveTasks(MAX_TASKS_PER_QUEUE)) {
        TaskSummary t = summary(live, now);
        if (!filter.states().isEmpty() && !filter.states().contains(t.state())) {
          continue;
        }
        if (filter.handler() != null && !filter.handler().equals(t.handler())) {
          continue;
        }
        if (text != null && !errorContains(t, text)) {
          continue;
        }
        rows.add(t);
      }
    }
    return rows;
  }

  private static boolean errorContains(TaskSummary t, String lowerText) {
    return (t.errorType() != null && t.errorType().toLowerCase(Locale.ROOT).contains(lowerText))
        || (t.errorMessage() != null && t.errorMessage().toLowerCase(Locale.ROOT).contains(lowerText));
  }

  private static TaskSummary summary(LiveTask live, Instant now) {
    TaskSnapshot s = live.snapshot();
    Throwable e = s.lastError();
    Instant runAt = live.readyNanos() >= 0 ? now.minusNanos(live.readyNanos()) : s.nextAttemptAt();
    return new TaskSummary(
        s.queue(), s.id(), s.name(), s.handler(), s.state(), s.attempts(), 0, null, runAt, null,
        e == null ? null : e.getClass().getName(), e == null ? null : e.getMessage());
  }

  /**
   * By acceptance number (the digits after an id's last {@code -}: {@code INSTANCE-NUMBER}; an id
   * without them, re-queued from a report, comes after), then queue, then id.
   */
  private static final Comparator<TaskSummary> ORDER =
      Comparator.comparingLong((TaskSummary t) -> number(t.id()))
          .thenComparing(TaskSummary::queue)
          .thenComparing(TaskSummary::id);

  private static long number(String id) {
    String digits = id.substring(id.lastIndexOf('-') + 1);
    if (digits.isEmpty() || digits.length() > 18) {
      return Long.MAX_VALUE;
    }
    for (int i = 0; i < digits.length(); i++) {
      if (digits.charAt(i) < '0' || digits.charAt(i) > '9') {
        return Long.MAX_VALUE;
      }
    }
    return Long.parseLong(digits);
  }

  private static final String CURSOR = "m1.";

  private static String encode(TaskSummary last) {
    Base64.Encoder b = Base64.getUrlEncoder().withoutPadding();
    return CURSOR
        + b.encodeToString(last.queue().getBytes(StandardCharsets.UTF_8))
        + "."
        + b.encodeToString(last.id().getBytes(StandardCharsets.UTF_8));
  }

  /** The cursor's queue and id, as a summary that the order compares with. */
  private static TaskSummary decode(String cursor) {
    String[] parts = cursor.startsWith(CURSOR) ? cursor.substring(CURSOR.length()).split("\\.", -1) : new String[0];
    if (parts.length == 2) {
      try {
        Base64.Decoder b = Base64.getUrlDecoder();
        String queue = new String(b.decode(parts[0]), StandardCharsets.UTF_8);
        String id = new String(b.decode(parts[1]), StandardCharsets.UTF_8);
        return new TaskSummary(queue, id, null, null, TaskState.READY, 0, 0, null, null, null, null, null);
      } catch (IllegalArgumentException e) {
        // not base64: refused below
      }
    }
    throw new IllegalArgumentException(
        "after: '" + cursor + "' (expected: a cursor from a MemoryAdmin's TaskPage.next())");
  }

  @Override
  public String toString() {
    return "MemoryAdmin" + queues.keySet();
  }
}
