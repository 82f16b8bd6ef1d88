-- loomwork's PostgreSQL store, schema version 3: payload versions, for rolling deploys (PostgreSQL 12
-- or newer).
--
-- Each task records the version of its payload's shape (TaskType.withVersion, 1 by default), and a
-- worker claims a task only if it registered the task's handler at that version or a later one: while
-- old and new processes run side by side, an old worker leaves the new payloads it could not decode to
-- a new worker, instead of failing them. Adding a column with a constant default rewrites no rows.
-- Each worker row records the handlers it claims and their versions, so that an operator (and the
-- store) can see which versions are alive.

ALTER TABLE loomwork_task
  ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);

-- {"handler name": version, ...}: the handlers this worker claims tasks of, each at the newest
-- payload version it reads.
ALTER TABLE loomwork_worker
  ADD COLUMN handlers jsonb NOT NULL DEFAULT '{}'::jsonb;

COMMENT ON COLUMN loomwork_task.version IS 'the payload version; claimed only by workers that registered its handler at this version or later';
COMMENT ON COLUMN loomwork_worker.handlers IS 'the handlers this worker claims, each with the newest payload version it reads';

INSERT INTO loomwork_schema (version) VALUES (3);
