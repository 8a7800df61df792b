-- Notion as a lead tracker (issue 13). inbox.source and outbox.target gain 'notion': SQLite
-- cannot alter a CHECK, so both tables are rebuilt again as 0004 did, their rows, ids and
-- indexes (0006's included) kept.

CREATE TABLE inbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT NOT NULL CHECK (source IN ('trello', 'sheets', 'airtable', 'notion')),
    dedupe_key      TEXT NOT NULL,
    pair            TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    body            BLOB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    processed_at    INTEGER,
    signed_at       INTEGER
);
INSERT INTO inbox_new (id, source, dedupe_key, pair, received_at, body, status, attempts,
                       next_attempt_at, last_error, processed_at, signed_at)
    SELECT id, source, dedupe_key, pair, received_at, body, status, attempts,
           next_attempt_at, last_error, processed_at, signed_at FROM inbox;
DROP TABLE inbox;
ALTER TABLE inbox_new RENAME TO inbox;
CREATE UNIQUE INDEX inbox_dedupe ON inbox(source, dedupe_key);
CREATE INDEX inbox_due ON inbox(status, next_attempt_at);
CREATE INDEX inbox_received ON inbox(received_at);

CREATE TABLE outbox_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    pair             TEXT NOT NULL,
    lead_id          TEXT,
    target           TEXT NOT NULL CHECK (target IN ('trello', 'sheets', 'airtable', 'notion')),
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'in_flight', 'done', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    dead_lettered_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
INSERT INTO outbox_new SELECT id, pair, lead_id, target, kind, payload, idempotency_key, status,
    attempts, next_attempt_at, last_error, dead_lettered_at, created_at, updated_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE UNIQUE INDEX outbox_idempotency ON outbox(idempotency_key);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_lead ON outbox(pair, lead_id, status);
CREATE INDEX outbox_finished ON outbox(status, updated_at);


-- The token of Notion's verification request, kept when `notion.webhook_verification_token` is
-- empty: events are signed with it. One row at most; a later request never replaces it (only
-- `leadsync webhooks notion-token --reset` clears it).
CREATE TABLE notion_verification (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    token       TEXT NOT NULL,
    received_at INTEGER NOT NULL
);

-- Events Notion delivered, stored by the door before it answers (dedupe on Notion's event id).
-- They name a page only: the change feed reads the page and stores what it holds in the inbox
-- in the transaction that marks the event done, so a crash re-reads rather than loses it.
CREATE TABLE notion_events (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    page_id     TEXT,
    parent_id   TEXT,
    at          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body        BLOB NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX notion_events_pending ON notion_events(done, received_at);

-- Per Notion pair: the poll's high-water mark (the time the last completed poll began, ms).
CREATE TABLE notion_polls (
    pair      TEXT PRIMARY KEY,
    polled_at INTEGER NOT NULL
);

-- Per Notion page: its properties as leadsync last read them (JSON, name -> text). A page read
-- says what the page holds, not what changed: the change is the difference from this, so a
-- value a read finds unchanged is never taken for a new edit over a write still on its way.
CREATE TABLE notion_pages (
    pair      TEXT NOT NULL,
    page_id   TEXT NOT NULL,
    edited_at INTEGER NOT NULL,
    cells     TEXT NOT NULL,
    PRIMARY KEY (pair, page_id)
);
