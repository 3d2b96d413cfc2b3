-- The chain hash of the record a mark names, so that the next upload's
-- first record is checked against it (NULL for marks written before).
ALTER TABLE high_water ADD COLUMN hash bytea;

-- Why the hash chain does not hold at a record; empty when it does. A
-- broken record is stored and flagged, never dropped.
ALTER TABLE passages ADD COLUMN chain_break text NOT NULL DEFAULT '';

-- The wrapped data keys a terminal uploads with its records, which the
-- centre's key opens (journal.Opener.AddKey).
CREATE TABLE data_keys (
	device text COLLATE "C" NOT NULL,
	epoch  bytea NOT NULL,
	entry  bytea NOT NULL,
	PRIMARY KEY (device, epoch, entry)
);
