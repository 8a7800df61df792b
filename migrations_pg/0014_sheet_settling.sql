-- migrations/0015_sheet_settling.sql on PostgreSQL.
CREATE TABLE sheet_settling (
    spreadsheet_id TEXT NOT NULL,
    sheet          TEXT NOT NULL,
    holder         TEXT NOT NULL,
    until_ms       BIGINT NOT NULL,
    PRIMARY KEY (spreadsheet_id, sheet)
);
