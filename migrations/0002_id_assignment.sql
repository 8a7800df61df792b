-- Ids leadsync gives rows that had none. Until such an id is seen written, the row it was made
-- for still reads as a row without an id, and must not be taken for a new lead.
ALTER TABLE links ADD COLUMN id_assigned_at INTEGER; -- when leadsync gave the row this id (NULL: the id came from the sheet or a card)
ALTER TABLE links ADD COLUMN id_landed_at INTEGER;   -- when leadsync's write of that id reached the sheet
