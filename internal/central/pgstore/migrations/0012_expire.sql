-- Retention of what the centre keeps besides the passages
-- (central.Expirer): the audit log loses its entries older than the audit
-- retention, the engine's facts and change records and the lapsed
-- statuses theirs.
--
-- The audit log stays append-only for everyone else: the trigger lets a
-- DELETE through only in a transaction that set sentinel.expire to on
-- (SET LOCAL, as Store.Expire does), and never an UPDATE or a TRUNCATE.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' AND current_setting('sentinel.expire', true) = 'on' THEN
		RETURN OLD;
	END IF;
	RAISE EXCEPTION 'audit_log is append-only';
END
$$;

-- What the hourly expiry reads: facts and changes by their time.
CREATE INDEX engine_facts_at ON engine_facts (at);
CREATE INDEX engine_changes_time ON engine_changes (time);
CREATE INDEX status_revocations_until ON status_revocations (until) WHERE until IS NOT NULL;
