-- leadsync schema. Times are INTEGER unix milliseconds (portable to Postgres BIGINT).
-- Never edit a landed migration; add a new one.

-- One row per configured sheet <-> board pair, upserted from the config at start-up.
CREATE TABLE pairs (
    name              TEXT PRIMARY KEY,
    spreadsheet_id    TEXT NOT NULL,
    sheet             TEXT NOT NULL,
    board_id          TEXT NOT NULL,
    member_id         TEXT,             -- the Trello token's member: tells our own actions from users'
    last_reconcile_at INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

-- A lead row linked to its card. card_id is NULL while the card is being created.
CREATE TABLE links (
    pair           TEXT NOT NULL REFERENCES pairs(name) ON DELETE CASCADE,
    lead_id        TEXT NOT NULL,
    card_id        TEXT,
    card_short_url TEXT,
    row_hint       INTEGER,             -- last known 1-based sheet row; a hint only, rows move
    card_closed    INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (pair, lead_id)
);
CREATE UNIQUE INDEX links_card ON links(pair, card_id);

-- Per link and field: the value both sides last agreed on (the base of the three-way merge).
CREATE TABLE field_states (
    pair         TEXT NOT NULL,
    lead_id      TEXT NOT NULL,
    field        TEXT NOT NULL,
    agreed_hash  TEXT NOT NULL,
    agreed_value TEXT NOT NULL,
    agreed_at    INTEGER NOT NULL,      -- time of the change that produced the agreed value
    last_writer  TEXT CHECK (last_writer IN ('sheet', 'trello')),
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (pair, lead_id, field),
    FOREIGN KEY (pair, lead_id) REFERENCES links(pair, lead_id) ON DELETE CASCADE
);

-- Webhook events, committed before they are acknowledged.
CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT NOT NULL CHECK (source IN ('trello', 'sheets')),
    dedupe_key      TEXT NOT NULL,      -- Trello action id or Apps Script webhook-id
    pair            TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    body            BLOB NOT NULL,      -- the raw bytes as received and verified
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    processed_at    INTEGER
);
CREATE UNIQUE INDEX inbox_dedupe ON inbox(source, dedupe_key);
CREATE INDEX inbox_due ON inbox(status, next_attempt_at);

-- Commands to send to Trello or the sheet, committed with the decision that made them.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    pair             TEXT NOT NULL,
    lead_id          TEXT,
    target           TEXT NOT NULL CHECK (target IN ('trello', 'sheets')),
    kind             TEXT NOT NULL,     -- create_card, update_card, set_custom_field, write_cells, ...
    payload          TEXT NOT NULL,     -- JSON
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
CREATE UNIQUE INDEX outbox_idempotency ON outbox(idempotency_key);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_lead ON outbox(pair, lead_id, status);

-- Every sync decision, newest first on read; pruned after sync.activity_retention_days.
CREATE TABLE activity (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    pair     TEXT NOT NULL,
    lead_id  TEXT,
    card_id  TEXT,
    field    TEXT,
    decision TEXT NOT NULL,
    detail   TEXT                       -- JSON
);
CREATE INDEX activity_lead ON activity(lead_id, at);
CREATE INDEX activity_at ON activity(at);

-- Trello webhooks this daemon registered; their callback URLs stay accepted for signatures.
CREATE TABLE trello_webhooks (
    id           TEXT PRIMARY KEY,
    pair         TEXT,
    board_id     TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- Leads missing from a full read of the sheet: deleted only after two reads a minute apart.
CREATE TABLE row_absences (
    pair            TEXT NOT NULL,
    lead_id         TEXT NOT NULL,
    first_missed_at INTEGER NOT NULL,
    PRIMARY KEY (pair, lead_id)
);
