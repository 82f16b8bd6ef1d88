package dev.loomwork.bench;

/**
 * loomwork's claim and completion statements, copied verbatim from {@code
 * dev.loomwork.postgres.PostgresClaims} (package-private there), so that the JDBC floors run the
 * same SQL as the store. If the library's statements change, change these with them.
 */
final class DurableSql {
  private DurableSql() {}

  static final String CLAIM =
      "WITH lease AS ("
          + " SELECT id FROM loomwork_worker WHERE id = ? AND expires_at > now()"
          + "), due AS MATERIALIZED ("
          + " SELECT t.id FROM loomwork_task t"
          + " WHERE t.state = 'ready' AND t.queue = ? AND t.run_at <= now() AND t.handler = ANY (?)"
          + " AND EXISTS (SELECT 1 FROM lease)"
          + " ORDER BY t.run_at, t.id"
          + " LIMIT ?"
          + " FOR UPDATE SKIP LOCKED"
          + "), claimed AS ("
          + " UPDATE loomwork_task t"
          + " SET state = 'running', owner = ?, attempt = t.attempt + 1, attempted_at = now(), updated_at = now()"
          + " FROM due WHERE t.id = due.id"
          + " RETURNING t.id, t.handler, t.payload::text AS payload, t.name, t.attempt, t.max_attempts,"
          + " t.run_at, t.deadline, t.created_at, t.unique_key"
          + ")"
          + " SELECT EXISTS (SELECT 1 FROM lease), c.*"
          + " FROM (VALUES (1)) AS one (x) LEFT JOIN claimed c ON true"
          + " ORDER BY c.run_at, c.id";

  static final String COMPLETE =
      "UPDATE loomwork_task t SET"
          + " state = CASE WHEN t.cancel_requested THEN 'cancelled' ELSE o.state END,"
          + " owner = NULL,"
          + " run_at = CASE WHEN o.state = 'ready' AND NOT t.cancel_requested"
          + "   THEN now() + o.delay * interval '1 microsecond' ELSE t.run_at END,"
          + " finished_at = CASE WHEN o.state = 'ready' AND NOT t.cancel_requested THEN NULL ELSE now() END,"
          + " last_error = coalesce(o.error::jsonb, t.last_error),"
          + " updated_at = now()"
          + " FROM unnest(?::bigint[], ?::integer[], ?::text[], ?::bigint[], ?::text[])"
          + "   AS o (id, attempt, state, delay, error)"
          + " WHERE t.id = o.id AND t.owner = ? AND t.attempt = o.attempt"
          + " RETURNING t.id, t.state";

  /**
   * The store's insert of one task (no unique key), as {@code PostgresEnqueue} sends it, without
   * {@code RETURNING}. Parameters: queue, handler, payload, name, max attempts.
   */
  static final String PLAIN_INSERT =
      "INSERT INTO loomwork_task (queue, handler, payload, name, run_at, max_attempts, deadline, unique_key)"
          + " VALUES (?, ?, ?::jsonb, ?, now(), ?, NULL, NULL)";
}
