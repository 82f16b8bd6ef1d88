-- The handlers each worker registered, so that the store can tell which ready tasks no live worker
-- claims (a handler nobody registers). NULL for a worker of a version that did not record them: it
-- is taken to claim every handler, so that it never raises a false alarm.
ALTER TABLE loomwork_worker ADD COLUMN IF NOT EXISTS handlers text[];

COMMENT ON COLUMN loomwork_worker.handlers IS 'the handlers this worker claims tasks of; NULL if unknown (claims any)';

INSERT INTO loomwork_schema (version) VALUES (4);
