-- loomwork's PostgreSQL store: the W3C trace context of a task (PostgreSQL 12 or newer).
--
-- A task enqueued by a store given an ObservationRegistry keeps the trace context of its enqueue
-- (the traceparent and tracestate headers, https://www.w3.org/TR/trace-context/), so that its
-- attempts, in whichever process claims them, continue the enqueueing request's trace. Null when
-- the enqueue was not traced. Text, not parsed: the tracer that reads them back validates them.

ALTER TABLE loomwork_task
  ADD COLUMN traceparent text,
  ADD COLUMN tracestate  text;

COMMENT ON COLUMN loomwork_task.traceparent IS 'W3C traceparent of the enqueue, or null';
COMMENT ON COLUMN loomwork_task.tracestate IS 'W3C tracestate of the enqueue, or null';

INSERT INTO loomwork_schema (version) VALUES (5);
