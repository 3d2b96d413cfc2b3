-- Passages, partitioned by UTC day; partitions are created on demand by
-- ingest and dropped at the retention horizon (pgstore.DropBefore).
CREATE TABLE passages (
	device   text COLLATE "C" NOT NULL,
	epoch    bytea NOT NULL,
	seq      bigint NOT NULL,
	time     timestamptz NOT NULL,
	site     text COLLATE "C" NOT NULL,
	holder   text COLLATE "C" NOT NULL,
	decision text NOT NULL,
	reasons  text[] NOT NULL,
	stored   bytea NOT NULL,
	PRIMARY KEY (device, epoch, seq, time)
) PARTITION BY RANGE (time);

CREATE INDEX passages_site_time ON passages (site, time);
CREATE INDEX passages_holder_time ON passages (holder, time);

-- The high-water mark of each (device, epoch): every record at or below it
-- is stored. Marks outlive the partitions, so a terminal resending records
-- older than the retention horizon still stores nothing twice.
CREATE TABLE high_water (
	device text COLLATE "C" NOT NULL,
	epoch  bytea NOT NULL,
	seq    bigint NOT NULL,
	PRIMARY KEY (device, epoch)
);

CREATE TABLE devices (
	device    text COLLATE "C" PRIMARY KEY,
	last_seen timestamptz NOT NULL
);
