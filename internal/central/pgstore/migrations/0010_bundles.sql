-- The bundle repository (internal/central/bundles) kept in the database,
-- so that every central server on it hands out the same bundles: the
-- files as the repository names them (index.json, KIND.bundle,
-- status-delta/VERSION.bundle), and a generation that every write raises,
-- which tells a server to read them again.
CREATE TABLE bundle_files (
	name text COLLATE "C" PRIMARY KEY,
	data bytea NOT NULL
);

CREATE TABLE bundle_generation (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	gen bigint NOT NULL CHECK (gen >= 0)
);
INSERT INTO bundle_generation (one, gen) VALUES (true, 0);

-- The device CA's certificate (PEM) that the first server on the database
-- used: every server behind the load balancer must present certificates
-- from the same CA and accept the terminals' certificates from it, so a
-- server whose data directory holds another CA refuses to start.
CREATE TABLE device_ca (
	one  boolean PRIMARY KEY DEFAULT true CHECK (one),
	cert bytea NOT NULL
);
