-- migrations/0009_record_tombstones.sql on PostgreSQL.
ALTER TABLE links ADD COLUMN record_deleted_at BIGINT;
ALTER TABLE links ADD COLUMN deletion_archived BIGINT NOT NULL DEFAULT 0;
