-- PostgreSQL's twin makes field_states' reference to links DEFERRABLE, so a lead's rename can
-- move both sides in one transaction (SQLite defers it with PRAGMA defer_foreign_keys).
-- Nothing to change on SQLite: this keeps the two folders numbered alike.
SELECT 1;
