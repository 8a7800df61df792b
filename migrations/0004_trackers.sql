-- Lead trackers other than Google Sheets (Airtable first). 0001-0003 are never edited: this
-- migration widens what they allow. A Sheets database upgrades in place; its rows keep meaning
-- what they meant (the tracker side is still stored as 'sheet' in field_states.last_writer).

-- A pair's tracker kind and its tracker settings (JSON, informational: the config decides).
ALTER TABLE pairs ADD COLUMN tracker TEXT NOT NULL DEFAULT 'sheets';
ALTER TABLE pairs ADD COLUMN tracker_settings TEXT;

-- inbox.source and outbox.target gain the new systems. SQLite cannot alter a CHECK, so both
-- tables are rebuilt (nothing references them by foreign key) with their rows and ids kept.
CREATE TABLE inbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT NOT NULL CHECK (source IN ('trello', 'sheets', 'airtable')),
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

CREATE TABLE outbox_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    pair             TEXT NOT NULL,
    lead_id          TEXT,
    target           TEXT NOT NULL CHECK (target IN ('trello', 'sheets', 'airtable')),
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

-- Webhooks a tracker's API registered for us (Airtable: one per base and table), with the
-- secret shown only once at creation, their expiry, and the payload cursor. `pinged` counts
-- notifications received and `fetched` the count the last completed fetch started from: a
-- fetch is due while pinged > fetched, so a notification acknowledged before a crash is
-- fetched after the restart. The cursor moves only in the transaction that stores what the
-- fetch read, so a crash re-reads rather than skips.
CREATE TABLE tracker_webhooks (
    connector        TEXT NOT NULL,
    id               TEXT NOT NULL,
    pair             TEXT NOT NULL,
    base_id          TEXT NOT NULL,
    notification_url TEXT NOT NULL,
    mac_secret       TEXT NOT NULL,
    expires_at       INTEGER,
    cursor           INTEGER NOT NULL DEFAULT 1,
    pinged           INTEGER NOT NULL DEFAULT 0,
    fetched          INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (connector, id)
);
CREATE INDEX tracker_webhooks_pair ON tracker_webhooks(pair);
