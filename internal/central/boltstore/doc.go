// Package boltstore is the embedded central.Store on bbolt, the default
// that lets one binary run the central system on a laptop or in the demo.
//
// # Layout
//
// Bucket "devices" holds one bucket per device, which holds the key "seen"
// (the last ingest, Unix nanoseconds), a bucket "marks" (epoch → high-water
// mark, big-endian, followed by the chain hash of that record; files written
// before the hash was kept hold the 8-byte mark alone, whose hash reads as
// zero), a bucket "epochs" with one bucket per epoch whose keys are the
// big-endian sequence numbers and whose values are the records with their
// chain break (see record.go), and a bucket "keys" with one bucket per epoch
// of the wrapped data keys the terminal uploaded, keyed by their SHA-256.
//
// The statuses (central.StatusStore, status.go) live in three buckets:
// "status-entries" (holder → the entry as JSON), "status-revoked" (EU DCC
// certificate identifier → the revocation as JSON, or the binary time
// alone for revocations recorded before they could lapse) and
// "status-meta" ("version": the published status version, big-endian).
// The values are those of the former status.db, which ImportLegacyStatus
// imports once.
//
// # Caveats
//
// Passages scans every record of the selected devices inside one read
// transaction and sorts the matches in memory; there is no index on site,
// holder or time. Production with millions of passages belongs on
// PostgreSQL (pgstore).
package boltstore
