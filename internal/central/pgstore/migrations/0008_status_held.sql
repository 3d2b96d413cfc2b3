-- The entries that hold a holder at a colour other than green, by their
-- source and when they lapse (central.StatusReader.HeldBy): a sweep of the
-- code engine reads those it set and that are still in force, not every
-- holder's entry.
CREATE INDEX status_entries_held ON status_entries (source, (coalesce(until, 'infinity'::timestamptz)))
	WHERE status <> 'green';
