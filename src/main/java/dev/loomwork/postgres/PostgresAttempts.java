package dev.loomwork.postgres;

/**
 * A task's attempt history, the {@code attempts} column (schema version 4): the SQL that appends
 * an attempt's entry in the statement that writes its outcome, and the SQL that reads the entries
 * back as rows.
 *
 * <p>The column is a jsonb array of at most {@value #KEPT} entries, oldest first; appending to a
 * full one drops its oldest. An entry is {@code {"attempt", "started", "ended", "worker", "outcome",
 * "error"}}: times in microseconds since the epoch by the database's clock, the outcome's name in
 * lower case ({@code succeeded}, {@code retried}, {@code failed}, {@code cancelled}, {@code lost},
 * {@code released}), and the error ({@code {"type", "message", "stack"}}, bounded by {@link
 * PostgresErrorJson}) only for an attempt that failed. The attempt that runs now has no entry: the
 * task's row ({@code attempt}, {@code attempted_at}, {@code owner}) describes it.
 */
final class PostgresAttempts {

  /** The most attempts a task's history keeps; older ones are dropped. */
  static final int KEPT = 32;

  private PostgresAttempts() {}

  /**
   * The SQL expression of a task's history with its current attempt appended, for an {@code UPDATE
   * ... SET attempts = } clause: its expressions read the row as it was before the update, so the
   * entry gets the attempt's number, start ({@code attempted_at}) and worker ({@code owner}).
   *
   * @param row the updated table's name or alias
   * @param outcome an SQL expression of the outcome's text
   * @param error an SQL expression of the error's jsonb ({@code type}, {@code message}, {@code
   *     stack}, maybe more keys, which are dropped), or {@code NULL}
   */
  static String append(String row, String outcome, String error) {
    String history = "coalesce(" + row + ".attempts, '[]'::jsonb)";
    return "(CASE WHEN jsonb_array_length(" + history + ") >= " + KEPT
        + " THEN " + history + " - 0 ELSE " + history + " END)"
        + " || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object("
        + "'attempt', " + row + ".attempt,"
        + " 'started', " + micros(row + ".attempted_at") + ","
        + " 'ended', " + micros("now()") + ","
        + " 'worker', " + row + ".owner,"
        + " 'outcome', " + outcome + ","
        + " 'error', (" + error + ")::jsonb - 'attempt' - 'worker')))";
  }

  private static String micros(String timestamp) {
    return "(extract(epoch FROM " + timestamp + ") * 1000000)::bigint";
  }

  /**
   * The SQL that reads a task's history as rows ({@code attempt, started, ended, worker, outcome,
   * type, message, stack}, oldest first), for the task's id as parameter 1.
   */
  static final String READ =
      "SELECT (e ->> 'attempt')::int, (e ->> 'started')::bigint, (e ->> 'ended')::bigint,"
          + " (e ->> 'worker')::bigint, e ->> 'outcome',"
          + " e -> 'error' ->> 'type', e -> 'error' ->> 'message', e -> 'error' ->> 'stack'"
          + " FROM loomwork_task t, jsonb_array_elements(coalesce(t.attempts, '[]'::jsonb))"
          + "   WITH ORDINALITY AS a (e, n)"
          + " WHERE t.id = ? ORDER BY a.n";
}
