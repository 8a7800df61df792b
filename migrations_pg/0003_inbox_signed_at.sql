-- migrations/0003_inbox_signed_at.sql on PostgreSQL.
ALTER TABLE inbox ADD COLUMN signed_at BIGINT;
