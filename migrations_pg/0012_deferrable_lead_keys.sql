-- A lead's rename (store::rename) moves links and field_states to the new id in one
-- transaction: field_states' reference to links must be checked at the commit, not per
-- statement (SQLite's twin defers it with PRAGMA defer_foreign_keys).
ALTER TABLE field_states ALTER CONSTRAINT field_states_pair_lead_id_fkey
    DEFERRABLE INITIALLY IMMEDIATE;
