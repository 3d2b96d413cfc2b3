// Package pgstore is the central.Store on PostgreSQL, through pgx, for
// production.
//
// # Schema
//
// The schema lives in migrations/*.sql, embedded in the binary; Open
// applies the missing ones in one transaction under an advisory lock and
// records them in schema_version, so several servers may start at once.
// Passages sit in a table partitioned by UTC day (passages_pYYYYMMDD),
// created on demand for the days an ingest touches and dropped by
// DropBefore at the retention horizon, with indexes on (site, time) and
// (holder, time) for export and trace.
//
// # Exactly once
//
// IngestLinked locks the (device, epoch) row of high_water (an upsert that
// returns the mark with the marked record's chain hash), lets the caller's
// decision (the sync server's: syncstore.Admit) choose the records to
// store, copies them into passages with the COPY protocol, and raises the
// mark, all in one transaction. When the decision returns an engine step
// (the fevers of the records it admits), the same transaction then locks
// engine_lock, as UpdateEngine does, and runs it: passages and their
// facts commit together. Concurrent ingests of one (device, epoch),
// from any number of servers behind a load balancer, queue on that row
// lock, and the second sees the mark the first committed: no
// deduplication window, no duplicate. Because the lock already decides
// which records are new, the COPY goes straight into passages rather than
// through a staging table. The chain hash lives in high_water.hash
// (migration 0002; NULL for marks written before), each record's chain
// break in passages.chain_break and the uploaded data keys in data_keys.
//
// # Statuses
//
// The holders' statuses (central.StatusStore, migration 0006) sit in
// status_entries (one row per holder), status_revocations and the one-row
// status_version. Every UpdateStatus starts by locking that row (SELECT
// ... FOR UPDATE), so that the status transactions of every server and
// `sentinel-central status` process on the database run one after
// another: a change and the publication of its bundle never interleave
// with another's. ViewStatus reads one repeatable-read snapshot.
//
// # Caveats
//
// A DropBefore that removes a day's partition while an ingest of that day
// is in flight makes that ingest fail; the terminal retries and the
// partition is created again. Marks are never dropped.
package pgstore
