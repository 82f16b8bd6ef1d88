package dev.loomwork.admin;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.QueueLifecycle;
import dev.loomwork.Task;
import dev.loomwork.TaskCodec;
import dev.loomwork.TaskState;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The admin of in-memory queues: overviews, lists and pages of the tasks not yet ended, a task. */
class MemoryAdminTest {
  static final TaskCodec<Integer> NUMBER =
      new TaskCodec<>() {
        @Override
        public String encode(Integer payload) {
          return Integer.toString(payload);
        }

        @Override
        public Integer decode(String json) {
          return Integer.parseInt(json.trim());
        }
      };

  static final TaskType<Integer> JOB = TaskType.of("job", NUMBER);

  final CountDownLatch started = new CountDownLatch(1);
  final CountDownLatch release = new CountDownLatch(1);
  final WorkQueue mem =
      WorkQueue.builder("mem")
          .concurrency(1)
          .handle(
              JOB,
              (ctx, p) -> {
                started.countDown();
                release.await();
              })
          .build();
  final WorkQueue closures = WorkQueue.builder("closures").concurrency(1).build();

  @AfterEach
  void close() {
    release.countDown();
    mem.shutdownNow(); // the waiting task is due in an hour: a drain would wait for it
    closures.shutdownNow();
  }

  /** One running, two ready, one waiting in "mem"; one ready closure in "closures" (not started). */
  MemoryAdmin seeded() throws Exception {
    mem.start();
    mem.submit(JOB, 1);
    assertTrue(started.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
    mem.submit(JOB, 2);
    mem.submit(JOB, 3);
    mem.enqueue(Task.of(JOB, 4).delay(Duration.ofHours(1)));
    closures.submit(ctx -> {});
    return MemoryAdmin.of(mem, closures);
  }

  List<String> pages(MemoryAdmin admin, TaskFilter filter, PageRequest first) {
    List<String> ids = new ArrayList<>();
    PageRequest request = first;
    while (true) {
      TaskPage page = admin.list(filter, request);
      assertTrue(page.tasks().size() <= first.size());
      for (TaskSummary t : page.tasks()) {
        ids.add(t.queue() + "/" + number(t.id()) + "/" + t.state());
      }
      if (!page.hasNext()) {
        return ids;
      }
      request = first.after(page.next());
    }
  }

  /** The acceptance number at the end of a memory task's id ({@code INSTANCE-NUMBER}). */
  static String number(String id) {
    return id.substring(id.lastIndexOf('-') + 1);
  }

  /** The id of a queue's task by its acceptance number. */
  static String id(MemoryAdmin admin, String queue, int n) {
    for (TaskSummary t : admin.list(TaskFilter.all().withQueue(queue), PageRequest.oldestFirst(100)).tasks()) {
      if (number(t.id()).equals(Integer.toString(n))) {
        return t.id();
      }
    }
    throw new AssertionError("no task " + n + " in " + queue);
  }

  @Test
  void showsEachQueueAndItsTasksNotYetEnded() throws Exception {
    MemoryAdmin admin = seeded();
    List<QueueOverview> queues = admin.queues();
    assertEquals(List.of("closures", "mem"), queues.stream().map(QueueOverview::queue).toList());
    QueueOverview m = queues.get(1);
    assertEquals(QueueKind.MEMORY, m.kind());
    assertFalse(m.paused());
    assertEquals(List.of(2L, 1L, 1L), List.of(m.ready(), m.waiting(), m.running()));
    assertNotNull(m.health());
    assertEquals(QueueLifecycle.ACCEPTING, m.health().lifecycle());
    assertEquals(QueueLifecycle.NEW, queues.get(0).health().lifecycle());

    List<String> all = List.of("closures/1/READY", "mem/1/RUNNING", "mem/2/READY", "mem/3/READY", "mem/4/WAITING");
    for (int size : List.of(1, 2, 5, 10)) {
      assertEquals(all, pages(admin, TaskFilter.all(), PageRequest.oldestFirst(size)), "size " + size);
      assertEquals(all.reversed(), pages(admin, TaskFilter.all(), PageRequest.newestFirst(size)), "size " + size);
    }
    assertEquals(
        List.of("mem/2/READY", "mem/3/READY"),
        pages(admin, TaskFilter.all().withQueue("mem").withStates(TaskState.READY), PageRequest.oldestFirst(10)));
    assertEquals(
        List.of("closures/1/READY"),
        pages(admin, TaskFilter.all().withStates(TaskState.READY).withQueue("closures"), PageRequest.oldestFirst(10)));
    assertEquals(4, pages(admin, TaskFilter.all().withHandler("job"), PageRequest.oldestFirst(10)).size());
    assertEquals(List.of(), pages(admin, TaskFilter.all().withErrorContains("x"), PageRequest.oldestFirst(10)));
    assertEquals(
        List.of(),
        pages(admin, TaskFilter.all().withCreated(null, java.time.Instant.now()), PageRequest.oldestFirst(10)),
        "memory tasks have no creation time");

    assertEquals(
        List.of(
            new TaskCount("closures", "", TaskState.READY, 1),
            new TaskCount("mem", "job", TaskState.WAITING, 1),
            new TaskCount("mem", "job", TaskState.READY, 2),
            new TaskCount("mem", "job", TaskState.RUNNING, 1)),
        admin.counts(TaskFilter.all()));

    TaskDetail ready = admin.task("mem", id(admin, "mem", 2)).orElseThrow();
    assertEquals("2", ready.payloadJson());
    assertEquals(TaskState.READY, ready.summary().state());
    assertEquals("job", ready.summary().handler());
    assertNotNull(ready.summary().runAt(), "a ready task says since when");
    assertNull(ready.summary().createdAt());
    assertEquals(List.of(), ready.attempts());
    assertNotNull(admin.task("mem", id(admin, "mem", 4)).orElseThrow().summary().runAt(), "a waiting task says when it is due");
    assertEquals(1, admin.task("mem", id(admin, "mem", 1)).orElseThrow().summary().attempt());
    assertTrue(admin.task("mem", "99").isEmpty());
    assertTrue(admin.task("none", "1").isEmpty());
    assertNull(admin.task("closures", id(admin, "closures", 1)).orElseThrow().summary().handler());
  }

  @Test
  void theDocsExample() throws Exception {
    seeded();
    WorkQueue emails = mem;
    WorkQueue webhooks = closures;
    List<String> lines = new ArrayList<>();
    // README:admin-memory
    MemoryAdmin admin = MemoryAdmin.of(emails, webhooks);
    for (QueueOverview q : admin.queues()) {
      lines.add(q.queue() + ": " + q.ready() + " ready, " + q.running() + " running, " + q.waiting() + " waiting");
    }
    TaskPage running = admin.list(TaskFilter.all().withStates(TaskState.RUNNING), PageRequest.oldestFirst(20));
    for (TaskSummary t : running.tasks()) {
      lines.add(t.queue() + " task " + t.id() + " runs attempt " + t.attempt());
    }
    // README:end
    assertEquals(
        List.of(
            "closures: 1 ready, 0 running, 0 waiting",
            "mem: 2 ready, 1 running, 1 waiting",
            "mem task " + id(MemoryAdmin.of(mem), "mem", 1) + " runs attempt 1"),
        lines);
  }

  @Test
  void refusesBadInput() throws Exception {
    MemoryAdmin admin = MemoryAdmin.of(mem);
    try (WorkQueue twin = WorkQueue.builder("mem").build()) {
      assertEquals(
          "queue: 'mem' (expected: a name no registered queue has)",
          assertThrows(IllegalArgumentException.class, () -> admin.register(twin)).getMessage());
    }
    admin.register(mem); // the same queue again: nothing changes
    assertEquals(List.of(mem), admin.registered());
    assertEquals(
        "after: 'x' (expected: a cursor from a MemoryAdmin's TaskPage.next())",
        assertThrows(
                IllegalArgumentException.class,
                () -> admin.list(TaskFilter.all(), PageRequest.newestFirst(3).after("x")))
            .getMessage());
    assertTrue(admin.unregister(mem));
    assertFalse(admin.unregister(mem));
    assertEquals(List.of(), admin.queues());
  }
}
