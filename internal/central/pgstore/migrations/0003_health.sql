-- The latest health report of each terminal (protocol.Health, canonical
-- CBOR) and the centre's time when it arrived.
CREATE TABLE device_health (
	device      text COLLATE "C" PRIMARY KEY,
	received_at timestamptz NOT NULL,
	report      bytea NOT NULL
);
