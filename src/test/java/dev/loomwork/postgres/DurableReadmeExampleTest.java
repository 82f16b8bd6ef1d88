package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.JacksonCodec;
import dev.loomwork.Task;
import dev.loomwork.TaskState;
import dev.loomwork.TaskType;
import dev.loomwork.WorkQueue;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The README's durable-queue example, run against a real PostgreSQL. */
@ExtendWith(PostgresExtension.class)
class DurableReadmeExampleTest {
  record Welcome(String address) {}

  /** The mail API of the example: records what it was asked to send, and with which key. */
  static final class Outbox {
    final List<String> sent = new CopyOnWriteArrayList<>();
    final CountDownLatch one = new CountDownLatch(1);

    void send(String address, String idempotencyKey) {
      sent.add(address + " " + idempotencyKey);
      one.countDown();
    }
  }

  final DataSource dataSource;

  DurableReadmeExampleTest(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Test
  void durable() throws Exception {
    TaskType<Welcome> welcome = TaskType.of("email.welcome", new JacksonCodec<>(Welcome.class));
    Outbox outbox = new Outbox();
    // README:durable
    PostgresStore store = PostgresStore.of(dataSource); // the application's connection pool
    store.migrate(); // applies the schema once; or run PostgresSchema.script(1) to (5) with Flyway

    // A worker: any number of processes may run the queue "email" on the same database.
    WorkQueue worker = WorkQueue.builder("email")
        .store(store)
        .handle(welcome, (ctx, w) -> outbox.send(w.address(), ctx.taskId()))
        .build();
    worker.start();

    // A producer: the task is inserted in the application's own transaction.
    long id;
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      // ... the application's own writes, e.g. the new user's row ...
      id = store.enqueue(c, "email", Task.of(welcome, new Welcome("ada@example.com")));
      c.commit(); // the task exists, and a worker wakes, only if this commits
    }
    // README:end
    assertTrue(outbox.one.await(GENEROUS_SECONDS, TimeUnit.SECONDS));
    worker.shutdown();
    assertEquals(List.of("ada@example.com " + id), outbox.sent);
    assertEquals(TaskState.SUCCEEDED, store.find(id).orElseThrow().state());
  }
}
