-- loomwork's PostgreSQL store, schema version 4: what operators need (PostgreSQL 12 or newer).
--
-- Attempt history. Each task keeps its attempts in a bounded jsonb array on its own row, appended
-- by the statement that writes the attempt's outcome (a batch completion, a release, a rescue), so
-- that the history and the outcome commit together and leave with the row when retention prunes it.
-- The array keeps the last 32 attempts; each error's message and stack trace are cut to 2,000 and
-- 8,000 characters. An entry is {"attempt", "started", "ended" (microseconds since the epoch),
-- "worker", "outcome" (succeeded, retried, failed, cancelled, lost, released), "error" ({"type",
-- "message", "stack"}, absent when the attempt did not fail)}. A column rather than a table: the
-- completion updates the row anyway, so the history costs no row, no index entry and no
-- foreign-key check per attempt.
--
-- Paused queues. A row per paused queue; every claim checks it in the claim statement, so a pause
-- stops claims from the next one on, in every process.
--
-- Workers. The host, process id and concurrency of each worker, for an operator's list.
--
-- Lists. An index for the admin's keyset pages: a queue's tasks in a state, by creation time and
-- id. Building it on a large existing table blocks writes to the table while it builds: an operator
-- who cannot afford that creates it first, by hand, with CREATE INDEX CONCURRENTLY and this name.

ALTER TABLE loomwork_task ADD COLUMN IF NOT EXISTS attempts jsonb;

CREATE INDEX IF NOT EXISTS loomwork_task_admin ON loomwork_task (queue, state, created_at, id);

CREATE TABLE loomwork_paused_queue (
  queue     text        PRIMARY KEY,
  paused_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE loomwork_worker
  ADD COLUMN IF NOT EXISTS host text,
  ADD COLUMN IF NOT EXISTS pid bigint,
  ADD COLUMN IF NOT EXISTS concurrency integer;

COMMENT ON COLUMN loomwork_task.attempts IS 'the last 32 attempts: [{attempt, started, ended, worker, outcome, error}], appended with each outcome';
COMMENT ON TABLE loomwork_paused_queue IS 'loomwork queues paused by an operator: no worker claims their tasks';

INSERT INTO loomwork_schema (version) VALUES (4);
