// Package journal is the terminal's passage journal: every passage (a
// person at a lane and what the gate decided) is written durably, before
// the gate opens, to a bbolt file under the data directory, chained by
// hash, and later uploaded to the centre.
//
// # Records
//
// A Passage holds the plain fields the gate knows. Append turns it into a
// stored record: deterministic CBOR (RFC 8949 §4.2.1) with integer keys and
// a version field (see Record for the wire format), keyed by its sequence
// number as a big-endian uint64. The stored bytes are never rewritten; the
// sync upload (Range) sends them unchanged, so the centre can verify the
// same chain. Each record carries the hash of the previous one, and the
// chain is
//
//	H(0) = SHA-256("sentinel/journal genesis v1" ‖ epoch)
//	H(n) = SHA-256(H(n-1) ‖ stored bytes of record n)
//
// A journal file has a random epoch id, made when the file is created. A
// new epoch starts whenever continuity cannot be proven: a file that does
// not open or whose chain is broken is moved aside (renamed with a
// timestamp, never deleted) and a new file with a new epoch takes its
// place, and an alarm is raised. The centre identifies a record by
// (device, epoch, seq).
//
// bbolt trusts its file: a file cut short faults in its memory map and a
// damaged page makes it panic. So every file is locked and its structure
// checked before bbolt maps it (the size against the meta page's page
// count, both meta pages, the freelist and every page of the tree), and a
// panic or fault inside bbolt is recovered; either makes the file corrupt.
// An empty file is corrupt too. From a corrupt file SalvageFile recovers,
// without bbolt, every record and data key whose bytes are still whole;
// Salvage.Queue queues it in the data directory and the sync client
// delivers it under the records' own epoch and seqs, flagged as salvaged,
// so the centre records what was lost instead of nothing arriving.
//
// # Sealing
//
// The holder (index or pseudonym) and the temperature are sealed to the
// centre's HPKE public key (crypto/hpke) by envelope encryption: HPKE wraps
// a random AES-256-GCM data key, the records carry the fields encrypted
// under that key, and only the wrapped key is stored (in the journal's keys
// bucket, see WrappedKey); the clear key lives in memory only. A new data
// key is made for every UTC day, every Open (so every epoch), and whenever
// the centre's key changes. Time, lane, format, issuer, colours, decision,
// reason codes and versions stay readable for a supervisor on site. An
// Opener holding the centre's private key opens the sealed fields at
// ingest.
//
// A terminal that is not enrolled has no centre key. It still journals
// every passage, but seals the holder and temperature to a key pair made
// on the spot whose private half is thrown away at once: those fields are
// unrecoverable by anyone, which is the honest outcome for a terminal that
// has nobody to report to (the gate refers everyone to the guard until it
// is enrolled anyway), and the record's chain and readable fields stay
// intact. The keys bucket marks such data keys as Ephemeral.
//
// # Durability
//
// Append returns only after the record is committed with fsync. Appends
// from concurrent lanes share one bbolt transaction and one fsync: a small
// committer goroutine takes everything queued, writes it in one Update and
// wakes every waiter. When a commit fails (disk full, I/O error) Append
// returns an *UnavailableError: the gate must stay shut and the guard
// switch to the manual procedure.
//
// # Retention
//
// The centre acknowledges what it has ingested (Ack). Purge deletes only
// records that are acknowledged and older than the retention period
// (default 14 days), and acknowledged records regardless of age once the
// disk is more than 80 % full, which also raises an alarm. Purge deletes a
// prefix of the journal only and remembers the hash of the last record it
// deleted, so Verify still checks the remaining chain.
//
// # Caveats
//
// The record never holds a name (not even the masked display name) nor a
// national ID number.
//
// Verify and Open read the whole journal in one read transaction. bbolt
// cannot grow its memory map while a read transaction is open, so a commit
// that needs to grow the file waits for them.
//
// bbolt locks the file: while sentineld has the journal open, another
// process can open it only by copying it first (OpenReader does this for
// sentinelctl).
package journal
