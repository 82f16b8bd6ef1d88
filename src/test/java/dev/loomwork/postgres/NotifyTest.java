package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.postgres.PostgresTypes.NewTask;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** LISTEN/NOTIFY: a wake-up per queue, delivered at commit, dropped by a rollback. */
@ExtendWith(PostgresExtension.class)
class NotifyTest {
  final DataSource ds;

  NotifyTest(DataSource ds) {
    this.ds = ds;
  }

  /** Waits for wake-ups until {@code expected} many have come. */
  static List<String> receive(Connection listener, int expected) throws Exception {
    List<String> got = new ArrayList<>();
    long deadline = System.nanoTime() + GENEROUS.toNanos();
    while (got.size() < expected && System.nanoTime() < deadline) {
      got.addAll(PostgresNotifications.awaitNotifications(listener, Duration.ofNanos(deadline - System.nanoTime())));
    }
    return got;
  }

  @Test
  void aListenerReceivesAWakeUpWhenTheEnqueuingTransactionCommits() throws Exception {
    try (Connection listener = ds.getConnection();
        Connection caller = ds.getConnection()) {
      PostgresNotifications.listen(listener, "mail");
      caller.setAutoCommit(false);
      PostgresEnqueue.enqueue(caller, NewTask.of("mail", "h", "{}"));
      PostgresNotifications.notifyQueue(caller, "mail");
      PostgresNotifications.notifyQueue(caller, "mail");
      caller.commit();

      assertEquals(List.of("mail"), receive(listener, 1), "two identical ones in a transaction fold into one");
      assertEquals(List.of(), PostgresNotifications.awaitNotifications(listener, Duration.ofMillis(1)));
    }
  }

  @Test
  void aRolledBackWakeUpIsNeverDelivered() throws Exception {
    try (Connection listener = ds.getConnection();
        Connection caller = ds.getConnection()) {
      PostgresNotifications.listen(listener, "a");
      PostgresNotifications.listen(listener, "b");
      caller.setAutoCommit(false);
      PostgresNotifications.notifyQueue(caller, "a");
      caller.rollback();
      PostgresNotifications.notifyQueue(caller, "b");
      caller.commit();

      // Notifications arrive in commit order: had "a" been sent, it would come before "b".
      assertEquals(List.of("b"), receive(listener, 1));
    }
  }

  @Test
  void theDataSourceNotifyCommitsAndOnlyListenersOfThatQueueHearIt() throws Exception {
    PostgresTasks tasks = new PostgresTasks(ds);
    try (Connection mail = ds.getConnection();
        Connection hooks = ds.getConnection()) {
      PostgresNotifications.listen(mail, "mail");
      PostgresNotifications.listen(hooks, "hooks");
      tasks.notifyQueue("mail");
      tasks.notifyQueue("hooks");
      assertEquals(List.of("mail"), receive(mail, 1));
      assertEquals(List.of("hooks"), receive(hooks, 1));

      PostgresNotifications.unlisten(mail, "mail");
      tasks.notifyQueue("mail");
      tasks.notifyQueue("hooks");
      assertEquals(List.of("hooks"), receive(hooks, 1));
      assertEquals(List.of(), PostgresNotifications.awaitNotifications(mail, Duration.ofMillis(1)));
    }
  }

  @Test
  void anyQueueNameHasAChannel() throws Exception {
    String longName = "q".repeat(100);
    String quoted = "say \"hi\"; DROP TABLE loomwork_task";
    String unicode = "écoles-🦆";
    for (String q : List.of(longName, quoted, unicode)) {
      assertTrue(PostgresNotifications.channel(q).getBytes(StandardCharsets.UTF_8).length <= PostgresNotifications.MAX_CHANNEL_BYTES, q);
    }
    assertEquals("loomwork." + unicode, PostgresNotifications.channel(unicode));
    assertNotEquals(PostgresNotifications.channel(longName), PostgresNotifications.channel(longName + "x"));
    try (Connection listener = ds.getConnection()) {
      for (String q : List.of(longName, quoted, unicode)) {
        PostgresNotifications.listen(listener, q);
        try (Connection c = ds.getConnection()) {
          PostgresNotifications.notifyQueue(c, q);
        }
        assertEquals(List.of(q), receive(listener, 1));
      }
    }
    assertEquals(1, Sql.count(ds, "SELECT count(*) FROM pg_class WHERE relname = 'loomwork_task'"));
  }
}
