-- Trello board <-> board mirrors (CONTRACT §8). Numbered 0008: 0007 is Notion's.

-- One row per configured mirror, upserted from the config at start-up. Mirror and pair names
-- share one namespace (inbox.pair holds either); the pairs' inbox worker leaves these alone.
CREATE TABLE mirrors (
    name       TEXT PRIMARY KEY,
    board_a    TEXT NOT NULL,
    board_b    TEXT NOT NULL,
    last_reconcile_at INTEGER,
    last_error TEXT,              -- the last reconciliation's or event's failure, cleared by a success
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A card and its twin. card_b (or card_a) is NULL while the twin is being created: the row is
-- the durable intent, written before the create is sent, so a lost answer is searched for by
-- the marker `leadsync:<link_id>` instead of creating a second twin.
CREATE TABLE mirror_links (
    mirror     TEXT NOT NULL REFERENCES mirrors(name) ON DELETE CASCADE,
    link_id    TEXT NOT NULL,
    card_a     TEXT,
    card_b     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (mirror, link_id)
);
CREATE UNIQUE INDEX mirror_links_a ON mirror_links(mirror, card_a);
CREATE UNIQUE INDEX mirror_links_b ON mirror_links(mirror, card_b);

-- Per link and field: the value both boards last agreed on (the three-way merge's base) and
-- the latest change time seen on each side (last_writer_wins compares them).
CREATE TABLE mirror_fields (
    mirror       TEXT NOT NULL,
    link_id      TEXT NOT NULL,
    field        TEXT NOT NULL,
    base_value   TEXT NOT NULL,
    a_changed_at INTEGER,
    b_changed_at INTEGER,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (mirror, link_id, field),
    FOREIGN KEY (mirror, link_id) REFERENCES mirror_links(mirror, link_id) ON DELETE CASCADE
);

-- A board shared by a pair and a mirror (or two mirrors) stores each action once per route.
DROP INDEX inbox_dedupe;
CREATE UNIQUE INDEX inbox_dedupe ON inbox(source, dedupe_key, pair);
