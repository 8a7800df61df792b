-- migrations/0010_mirror_pending.sql on PostgreSQL.
CREATE TABLE mirror_pending (
    mirror     TEXT NOT NULL,
    link_id    TEXT NOT NULL,
    field      TEXT NOT NULL,
    side       TEXT NOT NULL,
    value      TEXT NOT NULL,
    was        TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (mirror, link_id, field),
    FOREIGN KEY (mirror, link_id) REFERENCES mirror_links(mirror, link_id) ON DELETE CASCADE
);
