-- migrations/0008_mirrors.sql on PostgreSQL.
CREATE TABLE mirrors (
    name       TEXT PRIMARY KEY,
    board_a    TEXT NOT NULL,
    board_b    TEXT NOT NULL,
    last_reconcile_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE mirror_links (
    mirror     TEXT NOT NULL REFERENCES mirrors(name) ON DELETE CASCADE,
    link_id    TEXT NOT NULL,
    card_a     TEXT,
    card_b     TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (mirror, link_id)
);
CREATE UNIQUE INDEX mirror_links_a ON mirror_links(mirror, card_a);
CREATE UNIQUE INDEX mirror_links_b ON mirror_links(mirror, card_b);

CREATE TABLE mirror_fields (
    mirror       TEXT NOT NULL,
    link_id      TEXT NOT NULL,
    field        TEXT NOT NULL,
    base_value   TEXT NOT NULL,
    a_changed_at BIGINT,
    b_changed_at BIGINT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (mirror, link_id, field),
    FOREIGN KEY (mirror, link_id) REFERENCES mirror_links(mirror, link_id) ON DELETE CASCADE
);

DROP INDEX inbox_dedupe;
CREATE UNIQUE INDEX inbox_dedupe ON inbox(source, dedupe_key, pair);
