-- loomwork's PostgreSQL store, schema version 1 (PostgreSQL 12 or newer).
--
-- PostgresSchema.migrate(dataSource) applies this file in one transaction, behind an advisory lock,
-- and only if the version table says it has not been applied. Flyway and Liquibase users may apply
-- it themselves instead (the file name follows Flyway's convention): it records its own version
-- below, so a later migrate() call finds it applied and does nothing.
--
-- Names are unqualified: the tables go to the first schema of the connection's search_path.
-- Every time is a timestamptz, and every expiry is computed with the database's now().

CREATE TABLE loomwork_schema (
  version    integer     PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE loomwork_task (
  id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue            text        NOT NULL,
  handler          text        NOT NULL,
  payload          jsonb       NOT NULL,
  name             text,
  state            text        NOT NULL DEFAULT 'ready'
                   CHECK (state IN ('ready', 'running', 'succeeded', 'failed', 'cancelled')),
  -- Not before: the first attempt's time, then the next retry's.
  run_at           timestamptz NOT NULL DEFAULT now(),
  -- Attempts started, the current one included. A released attempt is given back.
  attempt          integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_attempts     integer     NOT NULL DEFAULT 1 CHECK (max_attempts >= 1),
  deadline         timestamptz,
  unique_key       text,
  -- The loomwork_worker row whose process runs the current attempt. No foreign key: the rescuer
  -- deletes workers and returns their tasks in one statement, and a claim must not lock the row.
  owner            bigint,
  cancel_requested boolean     NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  attempted_at     timestamptz,
  finished_at      timestamptz,
  -- The last failed attempt's error: {"type", "message", "stack", "attempt", "worker"}.
  last_error       jsonb,
  CONSTRAINT loomwork_task_owner_iff_running
    CHECK ((state = 'running') = (owner IS NOT NULL)),
  CONSTRAINT loomwork_task_finished_iff_ended
    CHECK ((state IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
);

-- Claims: the due ready tasks of a queue, oldest first.
CREATE INDEX loomwork_task_ready ON loomwork_task (queue, run_at, id) WHERE state = 'ready';

-- Rescue and release: the running tasks of a worker.
CREATE INDEX loomwork_task_running ON loomwork_task (owner) WHERE state = 'running';

-- At most one pending or running task per queue and key. Enqueue names this predicate in its
-- ON CONFLICT clause: change both together.
CREATE UNIQUE INDEX loomwork_task_live_key ON loomwork_task (queue, unique_key)
  WHERE state IN ('ready', 'running') AND unique_key IS NOT NULL;

-- Retention: ended tasks by the time they ended.
CREATE INDEX loomwork_task_ended ON loomwork_task (state, finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE loomwork_worker (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue        text        NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);

CREATE INDEX loomwork_worker_expires ON loomwork_worker (expires_at);

COMMENT ON TABLE loomwork_task IS 'loomwork tasks: pending (ready), running, and ended ones kept for retention';
COMMENT ON TABLE loomwork_worker IS 'loomwork worker leases: one row per running queue instance, renewed by its heartbeat';
COMMENT ON TABLE loomwork_schema IS 'loomwork schema versions applied';

INSERT INTO loomwork_schema (version) VALUES (1);
