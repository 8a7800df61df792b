-- A Sheets batch's settling lease: held from the batch's first read of its sheet to the check
-- after its writes, while a write may have landed on another row by position. A reconciliation
-- in any process sharing the database (the daemon, a one-off `leadsync reconcile`) waits for it
-- before it reads the sheet; the lease expires, so a holder that died never blocks for long.
-- Numbered 0015: 0014 is another branch's.
CREATE TABLE sheet_settling (
    spreadsheet_id TEXT NOT NULL,
    sheet          TEXT NOT NULL,
    holder         TEXT NOT NULL,     -- the batch holding it (process id and a random number)
    until_ms       INTEGER NOT NULL,  -- when it lapses, unless released before
    PRIMARY KEY (spreadsheet_id, sheet)
);
