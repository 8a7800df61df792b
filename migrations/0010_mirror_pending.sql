-- A mirror's writes on their way (issue 14). Before a pass writes a card, each field's value it
-- is about to write is kept here with the side it writes; the pass's bases, saved once every
-- write is done, remove them. A pass stopped partway (a fault, a lost answer) leaves them: the
-- retry tells its own partial write (the value, or a label set or checklist on its way to it)
-- from a user's edit, and finishes the copy instead of taking it for a conflict.
CREATE TABLE mirror_pending (
    mirror     TEXT NOT NULL,
    link_id    TEXT NOT NULL,
    field      TEXT NOT NULL,
    side       TEXT NOT NULL,     -- 'a' or 'b': the card being written
    value      TEXT NOT NULL,     -- the field's value being written there
    was        TEXT NOT NULL,     -- what that card held when the write was decided
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (mirror, link_id, field),
    FOREIGN KEY (mirror, link_id) REFERENCES mirror_links(mirror, link_id) ON DELETE CASCADE
);
