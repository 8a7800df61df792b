-- migrations/0013_mirror_base_read_at.sql on PostgreSQL.
ALTER TABLE mirror_fields ADD COLUMN read_at BIGINT;
