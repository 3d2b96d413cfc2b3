// Package ops holds the centre's operator queries over the passage store,
// export and contact trace, and the append-only audit log that records every
// one of them: who ran it, when, why, with which filter, and how many rows it
// returned.
//
// The queries read any central.Store through the one method they need
// (Passages). Holders appear as the store keeps them, pseudonyms or
// ISSUER:INDEX, never names: the store holds no names.
//
// # Audit before data
//
// A caller records the audit entry before it hands any data out: Export
// writes to a spool the caller chooses, and the command line appends the
// entry (with the row count) to the AuditLog before it copies the spool to
// the operator. An export whose entry cannot be written is refused.
//
// # Caveats
//
// The audit log is the central store's (central.AuditLog): in central.db on
// bbolt, in the audit_log table on PostgreSQL, where a trigger refuses to
// change or delete an entry (but for the audit retention's delete, see
// central.Expirer), so that several centre hosts on one database keep one
// log. It is append-only, not tamper-evident: whoever owns the database
// file or the database can still rewrite it. serve's --audit-retention
// removes the entries older than it.
//
// Trace runs one Passages query for the holder and one per passage of the
// holder for its site and window; on PostgreSQL the (site, time) index serves
// the second, on bbolt each is a scan of the store.
package ops
