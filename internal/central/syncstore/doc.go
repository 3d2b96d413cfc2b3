// Package syncstore makes a central store (boltstore, pgstore) the Store of
// the sync upload handler (sync/server): Adapter turns a checked upload
// into central records and runs server.Admit inside the store's ingest
// transaction against the stored mark, sequence number and chain hash, so
// the hash chain is checked across ranges and a break is stored and
// flagged, never dropped.
//
// With the centre's HPKE private key (Options.CentreKey) the adapter also
// opens each record's sealed holder at ingest (journal.Opener) and fills
// central.Record.Holder, which export and trace select on: the sealing
// protects a terminal's disk, not the centre's store. With Options.Fevers
// it derives the fever facts of the records that Admit keeps and returns
// them to the store as the ingest's central.EngineStep
// (central.KeepFeversTx): the records and their fevers commit together
// or not at all, so a failure after the passages are stored cannot lose a
// fever (the terminal sends what was not stored again, and a record
// stored has its fever). Facts are skipped by source, so a resend or
// replay adds each fever once.
//
// # Caveats
//
// A mark written before the stores kept the chain hash has none: the next
// range's link to it is not checked.
//
// A record whose sealed fields do not open (a data key the centre never
// received, a terminal that was not enrolled) is stored with an empty
// Holder rather than refused: its chain and readable fields still count.
package syncstore
