-- Cells the write check emptied in a row a person typed without an id while a write meant for
-- another row landed on it (CONTRACT §4's rows move under writes): what the person typed there
-- is known only to that row's Apps Script event, not read yet. The lead made from that event
-- writes it back; an event set aside for a reconciliation leaves its value in `typed`.
-- Numbered 0011: 0010 is the mirrors'.
CREATE TABLE sheet_blanks (
    key        TEXT PRIMARY KEY,   -- pair, header and row, so one blank is kept once
    pair       TEXT NOT NULL,
    row_cells  TEXT NOT NULL,      -- JSON {header: value}: the row's other non-empty cells
    header     TEXT NOT NULL,      -- the emptied cell's column
    written    TEXT NOT NULL,      -- what the misplaced write had put there
    typed      TEXT,               -- what the row's event showed there, once a set-aside event told it
    created_at INTEGER NOT NULL
);
CREATE INDEX sheet_blanks_pair ON sheet_blanks (pair, created_at);
