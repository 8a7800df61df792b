-- migrations/0002_id_assignment.sql on PostgreSQL.
ALTER TABLE links ADD COLUMN id_assigned_at BIGINT;
ALTER TABLE links ADD COLUMN id_landed_at BIGINT;
