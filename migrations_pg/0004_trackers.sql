-- migrations/0004_trackers.sql on PostgreSQL. SQLite rebuilds inbox and outbox to widen their
-- CHECKs; PostgreSQL replaces the constraints in place (named by its default, <table>_<column>_check).
ALTER TABLE pairs ADD COLUMN tracker TEXT NOT NULL DEFAULT 'sheets';
ALTER TABLE pairs ADD COLUMN tracker_settings TEXT;

ALTER TABLE inbox DROP CONSTRAINT inbox_source_check,
    ADD CONSTRAINT inbox_source_check CHECK (source IN ('trello', 'sheets', 'airtable'));
ALTER TABLE outbox DROP CONSTRAINT outbox_target_check,
    ADD CONSTRAINT outbox_target_check CHECK (target IN ('trello', 'sheets', 'airtable'));

CREATE TABLE tracker_webhooks (
    connector        TEXT NOT NULL,
    id               TEXT NOT NULL,
    pair             TEXT NOT NULL,
    base_id          TEXT NOT NULL,
    notification_url TEXT NOT NULL,
    mac_secret       TEXT NOT NULL,
    expires_at       BIGINT,
    cursor           BIGINT NOT NULL DEFAULT 1,
    pinged           BIGINT NOT NULL DEFAULT 0,
    fetched          BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (connector, id)
);
CREATE INDEX tracker_webhooks_pair ON tracker_webhooks(pair);
