-- The console's activity pages filter by pair or by decision, newest first, paged by (at, id):
-- without these a filtered page on a large log scans the whole time index for its matches.
-- (A lead's filter has activity_lead; the unfiltered page has activity_at.)
CREATE INDEX activity_pair_at ON activity(pair, at);
CREATE INDEX activity_decision_at ON activity(decision, at);
