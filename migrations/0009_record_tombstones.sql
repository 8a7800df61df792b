-- A tracker record deleted by its tracker (an Airtable record, a Notion page in the trash) keeps
-- its link, tombstoned, rather than forgetting it: a Notion page restored from the trash comes
-- back with the same id and must find its card again (unarchived), not get a second one.
ALTER TABLE links ADD COLUMN record_deleted_at INTEGER;          -- when the tracker said the record is gone (NULL: live)
ALTER TABLE links ADD COLUMN deletion_archived INTEGER NOT NULL DEFAULT 0; -- that deletion archived the card (a restore unarchives it)
