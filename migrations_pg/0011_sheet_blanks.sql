-- migrations/0011_sheet_blanks.sql on PostgreSQL.
CREATE TABLE sheet_blanks (
    key        TEXT PRIMARY KEY,
    pair       TEXT NOT NULL,
    row_cells  TEXT NOT NULL,
    header     TEXT NOT NULL,
    written    TEXT NOT NULL,
    typed      TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sheet_blanks_pair ON sheet_blanks (pair, created_at);
