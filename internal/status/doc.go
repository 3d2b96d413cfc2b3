// Package status is the terminal's status list: the centre's word on
// holders whose status changed after their code was issued, and the EU DCC
// revocation list.
//
// An entry is (holder, status, effective time, until, reason code), status
// one of green, yellow, red and withheld. The rule at the gate: an entry
// overrides a code when its effective time is after the code's issued-at
// and it has not lapsed (until is open or after now). A red-then-green
// holder's fresh green code therefore passes, while a code issued before a
// change shows the change. Lookup answers that question for a
// credential.Holder; Revoked answers whether a DCC certificate identifier
// (UCI) is revoked.
//
// The list arrives as a signed base plus signed deltas (trust.OpenBundle
// verifies the envelope; kinds status-base and status-delta). ApplyBase
// replaces the list; ApplyDelta applies a delta to the version it names and
// refuses gaps with a *GapError. Prune drops the entries that can no
// longer override a valid code: native entries that took effect at or
// before now minus the longest native code lifetime plus the clock
// tolerance (Options), and lapsed entries; pseudonymous entries are kept
// until they lapse. The centre makes payloads with a Builder.
//
// # Payload format
//
// A payload is a deterministic CBOR map (see wirePayload in payload.go for
// the field list). Native entries travel in groups, one per (issuer,
// status, reason, lapse or until): the holders' indexes, and their
// effective times as fixed-width offsets from the group's earliest, to the
// second. The indexes travel in whichever of two encodings is smaller:
// Rice-coded gaps, or a roaring bitmap in roaring's portable serialization
// (github.com/RoaringBitmap/RoaringFormatSpec), which roaring.go writes and
// reads by hand after validating its structure: the roaring library's
// module is 144 MB of test data that every fresh machine downloaded to
// build the terminal, for two hundred lines of codec; it stays the oracle
// of the tests (TestRoaringAgainstLibrary, FuzzRoaring). For
// scattered indexes Rice wins: a delta of a million changes spread over a
// day over indexes 0..50 M of four issuers takes 3.5 MB (28 bits a
// change), where roaring's form took 17.4 bits an index against 11, 4.29
// MB for the delta, over the 4 MB budget. For ranges (an issuer withholds
// a block of new indexes) roaring's run containers win: 4 bytes a run.
// Pseudonymous entries are sorted 34-byte records; revocations are sorted
// 16-byte hashes (the first 16 bytes of SHA-256 of the UCI).
//
// # Memory layout and exactness
//
// Per issuer, native entries sit in blocks keyed by the index's high 16
// bits, as in a roaring bitmap's array containers: the low 16 bits sorted,
// each followed by a uint32 holding the effective time in seconds after
// the block's epoch (22 bits) and a class id (10 bits) into the issuer's
// table of (status, reason, lapse or until). A block of more than 128
// entries carries a 256-slot index by the low bits' high byte, so a lookup
// is a map access, two short binary searches and three cache lines, the
// last holding both the index and its value: about 0.5 µs of thread CPU
// time at 7 M entries on a heavily loaded machine, whatever the code's
// age. 7 M entries take 44.5 MB of heap (6.5 bytes an entry).
//
// Each holder has at most one entry: the latest change. That is enough
// because a later change has a later effective time: if any entry of the
// holder took effect after the code was issued, the latest did. The list
// stores the exact effective time of every entry, so the comparison is
// exact, with no buckets and no false positives. Effective times are kept
// to the second, rounded up by the Builder; codes carry issued-at in whole
// seconds, for which "ceil(effective) > issued-at" equals "effective >
// issued-at". An entry in a delta replaces the holder's entry whatever
// their effective times: the centre's latest word wins.
//
// Roaring bitmaps were the first design (a bitmap per issuer, status and
// time bucket). Exact per-entry times need the entry's rank in its bitmap,
// and roaring's Rank walks every container (about 760 for 50 M indexes):
// microseconds. A lookup that checks the buckets newer than issued-at
// touches up to 4 × 168 bitmaps for a week-old paper code. Hence the
// layout above.
//
// # Concurrency
//
// Lookups never lock: the list is an immutable snapshot behind an atomic
// pointer. ApplyBase, ApplyDelta and Prune build a new snapshot that
// shares the unchanged blocks and swap it in; they are serialised among
// themselves. Applying a delta costs time proportional to the blocks it
// touches (a million changes on 7 M entries: about half a second).
//
// # Applying a base
//
// ApplyBase builds the list in one pass from the payload's bytes: the CBOR
// byte strings alias the payload (cose.BytesNoCopy), each group's members
// and times are read by a cursor a block's worth at a time (one 64-bit
// load per Rice code and per time), and an issuer's groups are merged one
// block at a time by a counting sort on the low 16 bits whose last pass
// writes the block's data, made at its final size. Nothing the size of
// the list exists beside it but the payload, which the bundle's
// signature check copied once (cose.Parse). At 7 M entries
// (bench/statusbase, a 24 MB bundle through client.LoadStatus, the
// signature check included): peak RSS 78 MB for a 44.6 MB list, 0.22 s
// of CPU (median of 10 runs on a busy 2-core machine; 0.34 s before the
// block-at-a-time decoding).
// The list is swapped in only once the whole base is built and valid: a
// damaged base leaves the old list in force.
//
// # Caveats
//
//   - A zero issuedAt (a code that carries no issue time) lets every
//     entry override it.
//   - Lookup trusts now: judge a code only on a trusted clock (see
//     internal/clock). Prune likewise.
//   - Prune is not automatic: call it after ApplyBase and periodically
//     (hourly: it rebuilds every block that loses an entry, about 0.1 s
//     and a transient second copy at 7 M entries).
//     Entries a base carries that are already too old cost memory, not
//     correctness.
//   - NativeLifetime plus Tolerance is at most MaxWindow (30 days): a block
//     keeps at most 2^22 s (48 days) of effective times, and drops entries
//     older than its newest minus that span, which then can no longer
//     override any valid code. Entries dated in the future break this.
//   - One issuer has at most MaxClasses (1,024) distinct (status, reason,
//     lapse or until) classes at a time; a delta that needs more gives
//     ErrTooManyClasses after compaction: the centre should send a base.
//   - Until travels and is kept either as a lapse after the effective time
//     (as in "14 days after a red") or as an absolute time many entries
//     share, whichever more entries of the class share; an issuer whose
//     entries each have a different absolute until runs into MaxClasses.
//     An entry whose until is not after its effective time is refused.
//   - A delta's removals apply before its entries: a holder both removed
//     and set ends with the new entry.
package status
