-- loomwork's PostgreSQL store, schema version 2: recurring tasks (PostgreSQL 12 or newer).
--
-- One row per recurring task of a queue, written by every process that declares it (the same
-- declaration in every instance is the normal case) and advanced by whichever process claims it when
-- it is due: that process locks the row (FOR UPDATE SKIP LOCKED), inserts the tick's task with the
-- unique key 'loomwork.schedule:NAME@TICK', and moves next_run_at past the tick, in one transaction.
-- The schedule is kept in its parts, so that any process computes the next tick from the row.

CREATE TABLE loomwork_schedule (
  queue        text        NOT NULL,
  name         text        NOT NULL,
  handler      text        NOT NULL,
  payload      jsonb       NOT NULL,
  kind         text        NOT NULL CHECK (kind IN ('cron', 'fixed_rate')),
  expression   text,
  zone         text,
  period_ns    bigint      CHECK (period_ns > 0),
  missed       text        NOT NULL CHECK (missed IN ('run_once', 'skip', 'run_each')),
  missed_bound integer     NOT NULL CHECK (missed_bound >= 0),
  tolerance_ms bigint      NOT NULL CHECK (tolerance_ms > 0),
  paused       boolean     NOT NULL DEFAULT false,
  -- The first tick not yet handled; null while paused or when the expression has no further tick.
  next_run_at  timestamptz,
  -- The scheduled time of the last tick handled (run or skipped).
  last_run_at  timestamptz,
  -- A tick asked for by triggerNow, with its time, until a process runs it.
  trigger_at   timestamptz,
  declared_at  timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (queue, name),
  CONSTRAINT loomwork_schedule_shape CHECK (
    (kind = 'cron' AND expression IS NOT NULL AND zone IS NOT NULL AND period_ns IS NULL)
    OR (kind = 'fixed_rate' AND expression IS NULL AND zone IS NULL AND period_ns IS NOT NULL))
);

-- Firing: the due rows of a queue.
CREATE INDEX loomwork_schedule_due ON loomwork_schedule (queue, next_run_at) WHERE NOT paused;

COMMENT ON TABLE loomwork_schedule IS 'loomwork recurring tasks: one row per queue and name, advanced past each tick in the transaction that inserts its task';

INSERT INTO loomwork_schema (version) VALUES (2);
