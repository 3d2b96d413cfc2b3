-- The device that stored under an epoch first: an epoch belongs to one
-- device, and another device's batch for it is refused. Epochs stored
-- before go to the first device by name that holds a mark for them.
CREATE TABLE epoch_owners (
	epoch  bytea PRIMARY KEY,
	device text COLLATE "C" NOT NULL
);
INSERT INTO epoch_owners (epoch, device)
	SELECT epoch, min(device) FROM high_water GROUP BY epoch;

-- Forks: a batch carried a record at or below the mark that differs from
-- the one stored (a restored backup, a cloned card). The other copy's
-- records from "at" on are stored under the epoch "branch".
CREATE TABLE forks (
	device  text COLLATE "C" NOT NULL,
	branch  bytea NOT NULL,
	epoch   bytea NOT NULL,
	journal bytea NOT NULL,
	at      bigint NOT NULL,
	mark    bigint NOT NULL,
	found   timestamptz NOT NULL,
	PRIMARY KEY (device, branch)
);
