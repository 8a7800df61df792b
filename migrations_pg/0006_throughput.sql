-- The console's chart counts webhook events stored and commands finished per minute over the
-- last hour (and /admin/status counts those finished in the last minute): both read a recent
-- time range, which without these is a scan of every row kept for the retention period.
CREATE INDEX inbox_received ON inbox(received_at);
CREATE INDEX outbox_finished ON outbox(status, updated_at);
