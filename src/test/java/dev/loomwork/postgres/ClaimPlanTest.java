package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The claim's plan on a backlog: the ready index read in order up to the LIMIT, never the backlog
 * read and sorted. A claim that sorts the backlog costs time in proportion to it at every claim, and
 * a work-off of n tasks then costs n squared; the functional tests cannot see it, only the plan can.
 */
@ExtendWith(PostgresExtension.class)
class ClaimPlanTest {
  static final int BACKLOG = 20_000;

  final DataSource ds;
  final PostgresTasks tasks;

  ClaimPlanTest(StoreFixture store) {
    this.ds = store.ds();
    this.tasks = store.tasks();
  }

  @Test
  void aClaimReadsTheReadyIndexUpToItsLimitAndSortsNothing() throws Exception {
    Sql.exec(
        ds,
        "INSERT INTO loomwork_task (queue, handler, payload, max_attempts)"
            + " SELECT 'q', 'h', to_jsonb(i), 1 FROM generate_series(1, " + BACKLOG + ") AS i");
    Sql.exec(ds, "ANALYZE loomwork_task");
    Sql.exec(ds, "ANALYZE loomwork_paused_queue");
    long worker = tasks.register("q", Map.of("h", 1), Duration.ofMinutes(5));

    String plan = explainClaim("q", worker, 50);

    assertTrue(plan.contains("loomwork_task_ready"), () -> "the claim does not read the ready index:\n" + plan);
    // (the claimed rows, at most n, are sorted for the caller: "Sort Key: c.run_at"; that is fine)
    assertFalse(plan.contains("Sort Key: t."), () -> "the claim sorts the backlog:\n" + plan);
    assertFalse(plan.contains("Seq Scan on loomwork_task "), () -> "the claim scans the table:\n" + plan);
  }

  /** The claim statement's plan for these values, bound as {@link PostgresClaims#claim} binds them. */
  private String explainClaim(String queue, long worker, int n) throws Exception {
    try (Connection c = ds.getConnection();
        PreparedStatement s = c.prepareStatement("EXPLAIN " + PostgresClaims.CLAIM)) {
      s.setLong(1, worker);
      s.setString(2, queue);
      s.setArray(3, c.createArrayOf("text", new String[] {"h"}));
      s.setArray(4, c.createArrayOf("int4", new Integer[] {1}));
      s.setArray(5, c.createArrayOf("text", new String[] {"h"}));
      s.setString(6, queue);
      s.setInt(7, n);
      s.setLong(8, worker);
      StringBuilder plan = new StringBuilder();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          plan.append(r.getString(1)).append('\n');
        }
      }
      return plan.toString();
    }
  }
}
