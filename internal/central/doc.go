// Package central defines the central system's store of passages: the
// journals that terminals upload, kept exactly once per record identity
// (device, epoch, seq), with a high-water mark per (device, epoch).
//
// Two implementations satisfy [Store] and are held to one conformance suite
// (package storetest): boltstore, the embedded default, and pgstore, on
// PostgreSQL for production. memstore is an in-memory reference.
//
// # Exactly once
//
// Ingest reads the mark of (device, epoch), refuses a batch whose first
// record lies beyond mark+1 with a [*GapError] carrying the mark, drops the
// records at or below the mark, stores the rest and raises the mark, all in
// one transaction. A terminal that retries after a lost answer therefore
// stores nothing twice, whichever server behind a load balancer answers.
//
// # The hash chain
//
// boltstore and pgstore also offer IngestLinked, which keeps the chain hash
// of the marked record with the mark ([Link]) and lets the caller's
// [AdmitFunc] decide, inside the same transaction, what to store: the sync
// server's decision (package syncstore) checks that a range's first record
// links to that hash, and a record where the chain does not hold is stored
// with [Record].Break set, never dropped.
//
// # Caveats
//
// A batch must be contiguous and ascending; anything else is refused whole
// with [ErrMalformed] and nothing of it is stored.
package central
