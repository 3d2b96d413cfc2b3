// Package central defines the central system's store: the journals that
// terminals upload, kept exactly once per record identity (device, epoch,
// seq), with a high-water mark per (device, epoch); and the holders'
// statuses ([StatusStore]): the current entry of each holder whose status
// the centre changed, the EU DCC revocations and the published status
// version, changed together with the publication of their bundle.
//
// The store also keeps the rest of the centre's state, so that a centre on
// PostgreSQL keeps all of it in the database and a bbolt centre in one file:
// the device registry with its single-use enrolment tokens ([Registry]; a
// token is spent in one transaction, so that of several servers spending it
// at once one wins), the append-only audit log of exports and traces
// ([AuditLog]) and the operator API's role tokens ([OpsTokens]), each kept
// as a hash.
//
// Two implementations satisfy [Store] and are held to one conformance suite
// (package storetest): boltstore, the embedded default, and pgstore, on
// PostgreSQL for production. memstore is an in-memory reference.
//
// # Exactly once
//
// There is one ingest path, the one the sync server takes (package
// syncstore): [Store].IngestLinked reads the mark of (device, epoch) with
// the chain hash of the marked record ([Link]) and lets the caller's
// [AdmitFunc] decide, in the same transaction, what to store. The sync
// server's decision (syncstore.Admit, over server.Admit) refuses a batch
// whose first record lies beyond mark+1 with a gap error carrying the
// mark (unless the batch was salvaged from a damaged journal: then the
// loss is flagged as its first record's Break), drops the records at or
// below the mark, checks that the first record past it links to the
// mark's hash, and the store stores the rest and raises the mark. A
// terminal that retries after a lost answer therefore stores nothing
// twice, whichever server behind a load balancer answers. A record where
// the chain does not hold is stored with [Record].Break set, never
// dropped.
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
// # Caveats
//
// A batch must be contiguous and ascending; anything else is refused whole
// with [ErrMalformed] and nothing of it is stored.
package central
