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
// # Forks and owners
//
// A record's identity holds its content: a batch that carries, at or below
// the mark, a record whose stored bytes differ from those stored at the
// same (device, epoch, seq) is a fork (a terminal running on a restored
// backup or a cloned card). The store stores nothing of that batch,
// records the [Fork] and answers a [*ForkError] naming the branch epoch
// ([ForkBranch]) under which the device sends its copy's records from the
// fork on; a branch starts with the mark At-1. An epoch belongs to the
// device that stored under it first: another device's batch is refused
// with an [*EpochOwnerError] and nothing is stored.
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
