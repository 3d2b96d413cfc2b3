-- The device registry: single-use enrolment tokens (their SHA-256, never
-- the value) and the enrolled terminals with their last certificate and
-- revocation.
CREATE TABLE enrol_tokens (
	hash    bytea PRIMARY KEY,
	site    text NOT NULL,
	created timestamptz NOT NULL,
	expires timestamptz NOT NULL,
	used_at timestamptz,
	device  text COLLATE "C"
);
CREATE TABLE enrolled_devices (
	id        text COLLATE "C" PRIMARY KEY,
	site      text NOT NULL,
	enrolled  timestamptz NOT NULL,
	serial    text NOT NULL,
	not_after timestamptz,
	revoked   timestamptz
);

-- The audit log of exports and traces, in the order appended. It is
-- append-only: a trigger refuses to change or delete an entry.
CREATE TABLE audit_log (
	seq      bigserial PRIMARY KEY,
	at       timestamptz NOT NULL,
	operator text NOT NULL,
	action   text NOT NULL,
	entry    jsonb NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The operator API's role tokens: name, role and the SHA-256 of the token.
CREATE TABLE ops_tokens (
	name   text COLLATE "C" PRIMARY KEY,
	role   text NOT NULL CHECK (role IN ('ops', 'admin', 'issuer')),
	sha256 bytea NOT NULL UNIQUE
);
