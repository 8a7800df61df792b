-- migrations/0007_notion.sql on PostgreSQL: the CHECKs widened in place (see 0004).
ALTER TABLE inbox DROP CONSTRAINT inbox_source_check,
    ADD CONSTRAINT inbox_source_check CHECK (source IN ('trello', 'sheets', 'airtable', 'notion'));
ALTER TABLE outbox DROP CONSTRAINT outbox_target_check,
    ADD CONSTRAINT outbox_target_check CHECK (target IN ('trello', 'sheets', 'airtable', 'notion'));

CREATE TABLE notion_verification (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    token       TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

CREATE TABLE notion_events (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    page_id     TEXT,
    parent_id   TEXT,
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    body        BYTEA NOT NULL,
    done        BIGINT NOT NULL DEFAULT 0,
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX notion_events_pending ON notion_events(done, received_at);

CREATE TABLE notion_polls (
    pair      TEXT PRIMARY KEY,
    polled_at BIGINT NOT NULL
);

CREATE TABLE notion_pages (
    pair      TEXT NOT NULL,
    page_id   TEXT NOT NULL,
    edited_at BIGINT NOT NULL,
    cells     TEXT NOT NULL,
    PRIMARY KEY (pair, page_id)
);
