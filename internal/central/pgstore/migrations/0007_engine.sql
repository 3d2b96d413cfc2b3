-- The code engine's part of the central store (central.EngineStore): facts
-- about holders, the areas tree with sites and risk grades, the rule sets
-- deployed and the audit of every change to them.
CREATE TABLE engine_facts (
	seq         bigserial PRIMARY KEY,
	holder      text COLLATE "C" NOT NULL, -- ISSUER:INDEX or p:HEX
	kind        text NOT NULL,
	at          timestamptz NOT NULL,
	area        text NOT NULL DEFAULT '',
	site        text NOT NULL DEFAULT '',
	value       text NOT NULL DEFAULT '',
	nanokelvin  bigint NOT NULL DEFAULT 0, -- a fever's reading
	until       timestamptz,               -- NULL: open
	source      text NOT NULL DEFAULT ''
);
CREATE INDEX engine_facts_holder ON engine_facts (holder, seq);

CREATE TABLE engine_areas (
	id     text COLLATE "C" PRIMARY KEY,
	kind   text NOT NULL,
	parent text NOT NULL DEFAULT '',
	name   text NOT NULL DEFAULT ''
);

CREATE TABLE engine_sites (
	id   text COLLATE "C" PRIMARY KEY,
	area text NOT NULL,
	name text NOT NULL DEFAULT ''
);

CREATE TABLE engine_grades (
	n         bigserial PRIMARY KEY,
	area      text COLLATE "C" NOT NULL,
	level     text NOT NULL,
	effective timestamptz NOT NULL,
	source    text NOT NULL DEFAULT ''
);

CREATE TABLE engine_rule_sets (
	region   text COLLATE "C" NOT NULL,
	number   bigint NOT NULL,
	label    text NOT NULL,
	source   bytea NOT NULL,
	signed   bytea,
	deployed timestamptz NOT NULL,
	by_whom  text NOT NULL,
	PRIMARY KEY (region, number)
);

CREATE TABLE engine_changes (
	seq     bigserial PRIMARY KEY,
	time    timestamptz NOT NULL,
	by_whom text NOT NULL,
	why     text NOT NULL DEFAULT '',
	action  text NOT NULL,
	subject text NOT NULL,
	detail  json NOT NULL -- as written, byte for byte
);

-- One row. Every engine write transaction locks it (SELECT ... FOR
-- UPDATE), so that writers in several processes never interleave (rule
-- set numbers, checks of what a change names).
CREATE TABLE engine_lock (
	one boolean PRIMARY KEY DEFAULT true CHECK (one)
);
INSERT INTO engine_lock (one) VALUES (true);
