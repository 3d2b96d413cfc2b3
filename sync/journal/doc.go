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
// timestamp; deleted only once the centre holds what was salvaged from it
// and the retention has passed, see PurgeMovedAside) and a new file with
// a new epoch takes its place, and an alarm is raised. The centre identifies a record by
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
// Append returns only after the record is on disk: written to one of the
// journal's two write-ahead logs (journal.db.wal and journal.db.wal2
// beside journal.db) and synced with fdatasync. Appends from concurrent
// lanes share one write and one fdatasync (group commit): a small
// committer goroutine takes everything queued, writes it to the log at
// once and wakes every waiter. When the write or the sync fails (disk
// full, I/O error) Append returns an *UnavailableError: the gate must
// stay shut and the guard switch to the manual procedure.
//
// A bbolt commit syncs twice (its data pages, then its meta page), which
// made a passage cost two fdatasyncs; the log makes it one. Each log is
//
//	header (64 bytes): "SNTLWAL1" ‖ epoch (16) ‖ salt (8) ‖
//	                   CRC-32C of those 32 bytes (4, little-endian) ‖ zeros
//	frame:             length n (4, LE) ‖ kind (1: record, 2: data key) ‖
//	                   CRC-32C(salt ‖ length ‖ kind ‖ data) (4, LE) ‖ data (n)
//
// where data is the record's stored bytes (exactly what bbolt will hold)
// or a data key entry's stored form (written before the first record
// sealed under it, in the same write). Both files are written ahead with
// zeros at Open (2 MiB each), so an append overwrites written blocks and
// fdatasync has no file system metadata to commit. A log grows past that
// only when bbolt cannot keep up (below), and then on the append path:
// the growth could be written elsewhere, but the log's next fdatasync
// would commit it all the same.
//
// A checkpoint moves the logs' records and data keys into bbolt in one
// transaction: when the logs hold Options.CheckpointEvery records (512 by
// default) or 512 KiB of records that bbolt does not hold yet, after
// 250 ms without passages, before Ack and SetBranch, and at Close. It
// runs off the append path, in a goroutine of its own (or Ack's and
// SetBranch's): appends go on into the log while bbolt commits, and the
// checkpoint takes only the records that were in the logs when it began.
//
// A log starts a new generation by writing a new random salt in its
// header and appending from its start again: the frames of earlier
// generations still in the file no longer check under the new salt. A
// log is started anew only when bbolt's commits hold every record and
// data key in it. The header needs no sync of its own: the next append to
// that log syncs it with the frames, and a crash before that leaves the
// old header, whose frames bbolt holds already. The committer starts the
// log it appends to anew when bbolt holds everything in it (passages
// paused). Under a steady stream of passages that never happens (some
// passage is always in the log that the last checkpoint did not take), so
// the two logs take turns: when the log appended to holds
// 2×CheckpointEvery records or 1 MiB, and bbolt holds every record of the
// other one, the committer starts the other anew and appends there from
// then on; the checkpoints due meanwhile empty the first into bbolt long
// before the second is full. Only when bbolt cannot keep up (its commits
// fail, or take longer than filling a log) does the log appended to grow,
// to 8 MiB; then the committer waits for the checkpoint in progress,
// moves the rest itself and starts both logs anew (appends wait for that
// one commit). Appends never move away from a log with a failed append
// in it (its frames stay in the file under its salt until the next
// append overwrites them, and the other log's next records take their
// seqs again).
//
// Open replays the logs: in each, frames are read up to the first that is
// not whole (a zero length, a length past the file or MaxRecordSize, an
// unknown kind, a checksum that fails); what follows is a torn last
// append, whose passage was never acknowledged, or an older generation,
// and is cut. Damage inside a log (a flipped byte, a zeroed page) ends
// the frames too, but leaves whole records of acknowledged passages
// behind it: a whole record past the cut that the journal would not
// hold makes the log damaged (below), not torn. So does a log that ends
// inside a frame: its zeros are written ahead, so no append ends the
// file, and what was cut off may be acknowledged passages. The older log comes first, the one whose first record has
// the lower seq (a log is only started anew once bbolt holds all of it,
// so a log left from before the other's generation holds only records
// bbolt has). Records bbolt holds are skipped; the others must continue
// bbolt's hash chain (next seq, previous hash, same epoch) across both
// logs and are committed to bbolt before the logs start anew. So every
// acknowledged append survives a crash at any moment: amid an append it
// was not acknowledged; after its fdatasync it is in a log; when the
// appends moved to the other log, the first keeps its records until
// bbolt holds them; during a checkpoint bbolt's commit either happened
// (the log's copy is skipped) or not (the log's copy is replayed); after
// the checkpoint bbolt holds it. A log that is damaged otherwise (its
// header does not check, a record does not chain on, it holds frames of
// another epoch, whole records lie behind its damage, a directory or
// another thing that is not a file took its name; an empty one is left
// for a new generation) means the chain cannot be proven: the journal
// file and its logs are moved aside together (journal.db.corrupt-TIME
// and its .wal and .wal2) and a new epoch starts, with the corrupt
// alarm, as for a damaged journal file; SalvageMovedAside salvages all
// three, since the logs hold records' stored bytes as they are. Logs
// found without their journal file are moved aside alone, with the
// corrupt alarm too: the passages only in that file are lost unless it
// is found. The SIGKILL crash tests (TestCrash,
// and TestCrashCheckpoint with a checkpoint every two records and so a
// switch of logs every four) check that every passage whose gate opened
// survives and that the chain verifies.
//
// Readers see a passage as soon as its Append returned: Range, Tail, Keys
// and Verify read bbolt and then the records still only in the logs, and
// Reader (sentinelctl) reads the log files beside the journal too, before
// bbolt. It reads one log again after the other until one did not start
// anew in between, so that appends moving from one log to the other
// between its reads leave no gap. When a checkpoint fails (its bbolt
// commit), the records stay durable in the logs and readable, the commit
// alarm is raised, passages keep being recorded, and the next checkpoint
// tries again.
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
// Damage confined to what a log's last append wrote (a flipped byte in
// its last record, its last page zeroed) cannot be told from that append
// torn by a power cut: the passages there are dropped without an alarm,
// as an append that was never acknowledged is. So are the passages of a
// log deleted by hand, which leaves nothing to tell it from a journal of
// a release that had no such log. Either way their bytes are gone, and
// the next passages take their seqs again.
//
// Verify and Open read the whole journal in one read transaction. bbolt
// cannot grow its memory map while a read transaction is open, so a commit
// that needs to grow the file waits for them.
//
// bbolt locks the file: while sentineld has the journal open, another
// process can open it only by copying it first (OpenReader does this for
// sentinelctl).
package journal
