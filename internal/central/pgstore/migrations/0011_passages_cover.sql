-- Contact derivation and visits read the passages at a site around a time
-- and a holder's passages, and of each only who, when, where, the
-- decision and the record's identity (central.Filter.Slim). The two
-- indexes now carry those columns, so PostgreSQL answers from the index
-- alone (an index-only scan, once vacuum has marked the pages all-visible)
-- instead of fetching each row from the table, which at 100 million
-- passages no longer fits in memory. On a large table this migration
-- rebuilds both indexes: plan the upgrade for a quiet hour.
DROP INDEX passages_site_time;
DROP INDEX passages_holder_time;
CREATE INDEX passages_site_time ON passages (site, time) INCLUDE (holder, decision, device, epoch, seq);
CREATE INDEX passages_holder_time ON passages (holder, time) INCLUDE (site, decision, device, epoch, seq);
