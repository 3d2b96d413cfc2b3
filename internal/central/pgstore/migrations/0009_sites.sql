-- Passages spread over several PostgreSQL clusters by site (package
-- pgshard). Every cluster, the home one included, has this schema; the
-- routing tables are read on the home cluster only.

-- The site whose cluster holds a device's marks, data keys and forks: the
-- device's enrolment site, the site of every passage it uploads. A site
-- moves to another cluster with these rows. '' on rows written before
-- (filled in by the first ingest or the first move of the site).
ALTER TABLE high_water ADD COLUMN site text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE data_keys ADD COLUMN site text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN site text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE forks ADD COLUMN site text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX high_water_site ON high_water (site, device);
CREATE INDEX data_keys_site ON data_keys (site);
CREATE INDEX devices_site ON devices (site);
CREATE INDEX forks_site ON forks (site);

-- Whether this cluster holds a site: 'active' (ingest and reads here),
-- 'moving' (being copied away: reads here, ingest waits), 'gone' (moved
-- away: neither). No row: a site never moved, held here if its rows are.
-- An ingest of a site holds pg_advisory_xact_lock_shared on the site; a
-- move takes it exclusively to change the state, so that no ingest is in
-- flight when the copy starts.
CREATE TABLE site_owner (
	site    text COLLATE "C" PRIMARY KEY,
	state   text NOT NULL CHECK (state IN ('active', 'moving', 'gone')),
	changed timestamptz NOT NULL DEFAULT now()
);

-- The name this database was added under (sentinel-central clusters add),
-- so that one database is never added twice under two names.
CREATE TABLE cluster_self (
	one  boolean PRIMARY KEY DEFAULT true CHECK (one),
	name text NOT NULL
);

-- Home cluster only: the clusters beside the home one, and the cluster
-- of each site. A site with no row is placed on first ingest.
CREATE TABLE clusters (
	name  text COLLATE "C" PRIMARY KEY,
	conn  text NOT NULL,
	added timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE site_clusters (
	site        text COLLATE "C" PRIMARY KEY,
	cluster     text NOT NULL,
	moving_from text, -- set while a move is under way or its source not yet emptied
	moving_to   text,
	placed      timestamptz NOT NULL DEFAULT now(),
	moved       timestamptz
);
-- The site of each device that stored passages, claimed at its first
-- upload: the cluster of its marks.
CREATE TABLE device_sites (
	device text COLLATE "C" PRIMARY KEY,
	site   text COLLATE "C" NOT NULL
);
