-- When the pass that agreed each mirror base read the cards (issue 14, unix ms; NULL for bases
-- agreed before). A user's edit of a side after it, found on a side that holds the base, may
-- have been overwritten by that pass's own write, which had not seen it (Trello has no
-- conditional write): the card's history tells, and the edit is put back and merged.
ALTER TABLE mirror_fields ADD COLUMN read_at INTEGER;
