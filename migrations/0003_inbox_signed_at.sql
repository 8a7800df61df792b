-- The signed webhook-timestamp of an Apps Script event: with received_at, the latest its
-- edited_at may claim (a change time is clamped to when it was sent and received).
ALTER TABLE inbox ADD COLUMN signed_at INTEGER; -- unix seconds; NULL for Trello events
