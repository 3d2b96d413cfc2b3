-- The status part of the central store (central.StatusStore): the current
-- status entry of each holder whose status the centre changed, the EU DCC
-- revocations, and the status version they were last published at.
CREATE TABLE status_entries (
	holder    text COLLATE "C" PRIMARY KEY, -- credential.Holder.String: ISSUER:INDEX or p:HEX
	status    text NOT NULL,                -- green, yellow, red, withheld
	effective timestamptz NOT NULL,
	until     timestamptz,                  -- NULL: open
	reason    smallint NOT NULL,            -- the one-byte reason code
	note      text NOT NULL DEFAULT '',     -- the reason in words, kept at the centre
	source    text NOT NULL DEFAULT '',     -- who or what made the change
	rule_set  text NOT NULL DEFAULT '',     -- the rule set version that decided it
	set_at    timestamptz NOT NULL
);
CREATE INDEX status_entries_until ON status_entries (until) WHERE until IS NOT NULL;

CREATE TABLE status_revocations (
	uci        text COLLATE "C" PRIMARY KEY,
	revoked_at timestamptz NOT NULL,
	until      timestamptz -- NULL: never lapses
);

-- One row. Every status transaction locks it (SELECT ... FOR UPDATE), so
-- that publishers in several processes never interleave.
CREATE TABLE status_version (
	one     boolean PRIMARY KEY DEFAULT true CHECK (one),
	version bigint NOT NULL CHECK (version >= 0)
);
INSERT INTO status_version (one, version) VALUES (true, 0);
