package dev.loomwork.demo;

import static dev.loomwork.demo.DemoProcessTest.LINE;
import static dev.loomwork.demo.DemoProcessTest.counts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.demo.DemoProcessTest.Demo;
import dev.loomwork.postgres.PostgresExtension;
import dev.loomwork.postgres.UrlDataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo with {@code --store postgres}: two demo processes share the email and webhook queues
 * through one database. Each demo is a child JVM, driven by real HTTP and real signals; the test
 * synchronises on their lines, on the webhook receiver's state and on the tasks' rows, never on
 * sleeps.
 */
@ExtendWith(PostgresExtension.class)
class DurableDemoProcessTest {
  /** A demo's embedded server starts before its first line; on a busy machine that takes a while. */
  private static final Duration EMBEDDED_START = Duration.ofSeconds(90);

  private final DataSource ds;
  private final String url;

  DurableDemoProcessTest(DataSource ds) {
    this.ds = ds;
    this.url = ((UrlDataSource) ds).url();
  }

  @BeforeEach
  void empty() throws SQLException {
    try (Connection c = ds.getConnection();
        Statement st = c.createStatement()) {
      st.execute("TRUNCATE loomwork_task, loomwork_worker");
    }
  }

  /**
   * Demo A takes the signups, demo B only runs the queues. The webhook receiver, in this JVM, holds
   * every request until both demos have all their webhook permits on held requests: so both deliver.
   * Then every signup's email and webhook ran exactly once (one attempt in the store, one key at the
   * receiver, one success in one of the two demos' counts), and SIGTERM drains both.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void twoDemosShareTheDurableQueuesAndDeliverEachSignupOnce() throws Exception {
    int signups = 40;
    int concurrency = 2;
    try (WebhookReceiver receiver = new WebhookReceiver(0, Duration.ZERO)) {
      receiver.holdRequestsAfter(0);
      String[] common = {
        "--store", "postgres",
        "--pg-url", url,
        "--webhook-url", receiver.uri().toString(),
        "--webhook-timeout", "1h",
        "--webhook-concurrency", Integer.toString(concurrency),
        "--email-delay", "10ms"
      };
      try (Demo b = Demo.start(common);
          Demo a = Demo.start(concat(common, "--load", Integer.toString(signups)))) {
        for (Demo d : List.of(a, b)) {
          assertTrue(d.await("demo: store").contains("(--pg-url); queues email and webhooks are durable"), d.output());
        }
        String loaded = a.await("load: done:");
        assertTrue(loaded.contains(signups + " sent, " + signups + " accepted, 0 refused"), loaded);

        // Each demo runs at most `concurrency` webhooks: twice that many held means both run them.
        receiver.awaitHeld(2 * concurrency, LINE);
        receiver.release();
        a.await("load: settled: the store holds no unfinished task");

        // In the store: every task succeeded at its first attempt, so it ran once, in one demo.
        assertEquals(Map.of("email", (long) signups, "webhooks", (long) signups),
            count("SELECT queue, count(*) FROM loomwork_task WHERE state = 'succeeded' AND attempt = 1"
                + " GROUP BY queue"));
        assertEquals(Map.of("email", (long) signups, "webhooks", (long) signups),
            count("SELECT queue, count(*) FROM loomwork_task GROUP BY queue"));
        // At the receiver: one delivery under each webhook task's id, and no other request answered.
        Map<String, Long> deliveries = receiver.deliveriesByKey();
        assertEquals(webhookIds(), deliveries.keySet(), "the idempotency keys are the webhook tasks' ids");
        deliveries.forEach((key, n) -> assertEquals(1, n, "key " + key + " delivered " + n + " times"));
        assertEquals(signups, receiver.accepted());

        a.signal("TERM");
        b.signal("TERM");
        Map<String, Long> aCounts = drained(a);
        Map<String, Long> bCounts = drained(b);
        assertEquals(0, a.exitCode(), a.output());
        assertEquals(0, b.exitCode(), b.output());
        assertEquals(signups, aCounts.get("signups"));
        assertEquals(0, bCounts.get("signups"));
        assertEquals(signups, aCounts.get("emails") + bCounts.get("emails"), a.output() + b.output());
        assertEquals(signups, aCounts.get("webhooks") + bCounts.get("webhooks"), a.output() + b.output());
        assertTrue(aCounts.get("webhooks") >= concurrency && bCounts.get("webhooks") >= concurrency,
            "both demos delivered webhooks: " + aCounts + " " + bCounts);
        System.out.println("two demos, one store: A " + aCounts + ", B " + bCounts);
      }
    }
  }

  /**
   * With no {@code --pg-url}, the first demo starts an embedded PostgreSQL and prints the {@code
   * --pg-url} of it; a second demo given that URL shares the queues. SIGTERM to the first drains it,
   * and it keeps the server up until the second has gone; then it stops the server.
   */
  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void theFirstDemoStartsAnEmbeddedPostgresAndKeepsItUpForTheSecond() throws Exception {
    int signups = 20;
    String[] quick = {"--store", "postgres", "--fail-rate", "0", "--webhook-delay", "0ms", "--email-delay", "0ms"};
    try (Demo a = Demo.launch(quick)) {
      a.awaitReady(EMBEDDED_START);
      assertTrue(a.await("demo: store").contains("(embedded, started by this demo"), a.output());
      Matcher share = Pattern.compile("--pg-url (jdbc:postgresql:\\S+)$").matcher(a.await("demo: share"));
      assertTrue(share.find(), a.output());
      String embeddedUrl = share.group(1);

      try (Demo b = Demo.start(concat(quick, "--pg-url", embeddedUrl, "--load", Integer.toString(signups)))) {
        b.await("load: settled: the store holds no unfinished task");

        a.signal("TERM");
        Map<String, Long> aCounts = drained(a);
        // A drained, and keeps the server up while B is connected.
        a.await("shutdown: the embedded PostgreSQL serves");
        b.signal("TERM");
        Map<String, Long> bCounts = drained(b);
        assertEquals(0, b.exitCode(), b.output());
        a.await("shutdown: no other client is connected");
        assertTrue(a.await("shutdown: embedded PostgreSQL stopped").endsWith(" deleted"), a.output());
        assertEquals(0, a.exitCode(), a.output());

        assertEquals(signups, bCounts.get("signups"));
        assertEquals(signups, aCounts.get("emails") + bCounts.get("emails"), a.output() + b.output());
        assertEquals(signups, aCounts.get("webhooks") + bCounts.get("webhooks"), a.output() + b.output());
        // Each demo posts to its own receiver: each counts what that demo delivered, once per key.
        for (Map<String, Long> c : List.of(aCounts, bCounts)) {
          assertEquals(c.get("webhooks"), c.get("receiver"), c.toString());
          assertTrue(c.get("receiver_max_per_key") <= 1, c.toString());
        }
      }
    }
  }

  /**
   * A second SIGINT cuts a durable demo's drain: its tasks go back to the store, attempt given back,
   * and no report is written. A second demo on the database then runs every one of them; only the
   * webhooks whose requests had reached the receiver when the cut came are delivered twice, under
   * the same key.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aCutDrainReleasesItsTasksToTheStoreAndAnotherDemoRunsThem(@TempDir Path dir) throws Exception {
    int signups = 12;
    int concurrency = 3;
    Path reportFile = dir.resolve("report.jsonl");
    try (WebhookReceiver receiver = new WebhookReceiver(0, Duration.ZERO)) {
      receiver.holdRequestsAfter(0);
      String[] store = {"--store", "postgres", "--pg-url", url, "--webhook-url", receiver.uri().toString()};
      try (Demo a = Demo.start(concat(store,
          "--load", Integer.toString(signups),
          "--webhook-timeout", "1h",
          "--webhook-concurrency", Integer.toString(concurrency),
          "--email-delay", "1h", // no email is sent either: both queues have tasks to release
          "--report-file", reportFile.toString()))) {
        a.await("load: done:");
        receiver.awaitHeld(concurrency, LINE);
        a.signal("INT");
        // What each queue had claimed when the drain began: it claims no more, and the cut releases these.
        long webhooksClaimed = claimed(a.await("queue 'webhooks': shutting down with"));
        long emailsClaimed = claimed(a.await("queue 'email': shutting down with"));
        assertEquals(concurrency, webhooksClaimed, "the held webhooks");
        a.signal("INT");
        a.await("shutdown: second SIGINT: cancelling what is left");
        assertTrue(a.await("report: queue webhooks:").endsWith(" " + webhooksClaimed + " released to the store"),
            a.output());
        assertTrue(a.await("report: queue email:").endsWith(" " + emailsClaimed + " released to the store"),
            a.output());
        assertTrue(a.await("report: none written:").contains(
            "the " + (webhooksClaimed + emailsClaimed) + " task(s) this demo cut are back in the store"), a.output());
        a.await("final:");
        assertEquals(SignupDemo.EXIT_SECOND_SIGINT, a.exitCode(), a.output());
      }
      assertFalse(Files.exists(reportFile), "no report: the store has the tasks");
      // Every task is ready again, its attempt given back, and no worker is left.
      assertEquals(Map.of("email", (long) signups, "webhooks", (long) signups),
          count("SELECT queue, count(*) FROM loomwork_task WHERE state = 'ready' AND attempt = 0 GROUP BY queue"));
      assertEquals(Map.of(), count("SELECT queue, count(*) FROM loomwork_worker GROUP BY queue"));

      // The held requests go through: the receiver did their work, which the cut demo never heard of.
      receiver.release();
      receiver.awaitIdle(LINE);
      Set<String> reachedTheReceiver = receiver.deliveriesByKey().keySet();
      assertEquals(concurrency, reachedTheReceiver.size());

      try (Demo b = Demo.start(concat(store, "--load", "1", "--stop-after-load"))) {
        b.await("load: settled: the store holds no unfinished task");
        b.await("shutdown: drained");
        Map<String, Long> last = counts(b.await("final:"));
        assertEquals(0, b.exitCode(), b.output());
        assertEquals(signups + 1, last.get("emails"), b.output());
        assertEquals(signups + 1, last.get("webhooks"), b.output());
      }
      Map<String, Long> deliveries = receiver.deliveriesByKey();
      assertEquals(webhookIds(), deliveries.keySet());
      deliveries.forEach((key, n) ->
          assertEquals(reachedTheReceiver.contains(key) ? 2 : 1, n, "deliveries of key " + key));
    }
  }

  /** The tasks of {@code queue 'x': shutting down with R ready, N running, W waiting}: what it had claimed. */
  private static long claimed(String line) {
    Matcher m = Pattern.compile("shutting down with (\\d+) ready, (\\d+) running, (\\d+) waiting").matcher(line);
    assertTrue(m.find(), line);
    return Long.parseLong(m.group(1)) + Long.parseLong(m.group(2)) + Long.parseLong(m.group(3));
  }

  /** --requeue is refused with --store postgres, and --pg-url without it. */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void optionsThatDoNotGoWithTheStoreAreClearErrors() throws Exception {
    try (Demo d = Demo.launch("--store", "postgres", "--pg-url", url, "--requeue", "report.jsonl")) {
      assertEquals(2, d.exitCode(), d.output());
      assertTrue(d.output().contains("demo: --requeue: not with --store postgres"), d.output());
    }
    try (Demo d = Demo.launch("--pg-url", url)) {
      assertEquals(2, d.exitCode(), d.output());
      assertTrue(d.output().contains("demo: --pg-url names the database of --store postgres; give both"), d.output());
    }
  }

  /** Waits for a demo's drain after SIGTERM, with nothing left in the store; returns its final counts. */
  private static Map<String, Long> drained(Demo d) throws InterruptedException {
    assertTrue(d.await("shutdown: SIGTERM received").contains(
        "the store holds 0 email and 0 webhook task(s) unfinished"), d.output());
    d.await("shutdown: drained");
    Map<String, Long> counts = counts(d.await("final:"));
    assertEquals(0, counts.get("failed"), d.output());
    assertEquals(0, counts.get("cancelled"), d.output());
    return counts;
  }

  private Map<String, Long> count(String sql) throws SQLException {
    Map<String, Long> counts = new HashMap<>();
    try (Connection c = ds.getConnection();
        Statement st = c.createStatement();
        ResultSet r = st.executeQuery(sql)) {
      while (r.next()) {
        counts.put(r.getString(1), r.getLong(2));
      }
    }
    return counts;
  }

  private Set<String> webhookIds() throws SQLException {
    Set<String> ids = new HashSet<>();
    try (Connection c = ds.getConnection();
        Statement st = c.createStatement();
        ResultSet r = st.executeQuery("SELECT id FROM loomwork_task WHERE queue = 'webhooks'")) {
      while (r.next()) {
        ids.add(Long.toString(r.getLong(1)));
      }
    }
    return ids;
  }

  private static String[] concat(String[] first, String... more) {
    String[] all = new String[first.length + more.length];
    System.arraycopy(first, 0, all, 0, first.length);
    System.arraycopy(more, 0, all, first.length, more.length);
    return all;
  }
}
