// Package protocol is the wire format of the terminal → centre journal
// upload.
//
// # Upload
//
// A terminal sends a contiguous range of its journal for one (device,
// epoch) with
//
//	POST /v{N}/upload
//	Content-Type: application/x-sentinel-upload
//
// whose body is a zlib stream (RFC 1950) of one deterministic CBOR map
// (RFC 8949 §4.2.1) with integer keys:
//
//	1 version  uint: the protocol version, equal to N in the path
//	2 device   text: the terminal's id (the centre checks it against the
//	           TLS client certificate)
//	3 epoch    bstr (16): the journal's epoch
//	4 first    uint (≥ 1): the sequence number of the first record
//	5 prev     bstr (32): the chain hash of the record before the first
//	           (journal.Genesis for seq 1)
//	6 records  [bstr]: 1..MaxRecords records, the journal's stored bytes
//	           unchanged, for seq first, first+1, ...
//	7 keys     [bstr]: optional, the journal's wrapped data key entries
//	           (journal.Journal.Keys) so that the centre can open the
//	           sealed fields
//	8 salvage  bool: optional, the range was recovered from a damaged
//	           journal (see Upload.Salvaged)
//	9 branch   bstr (16): optional, the branch a fork answer named; the
//	           records (of epoch, from the fork on) are stored under it
//
// Decoding is strict: anything but the canonical encoding of exactly these
// fields, a version the decoder does not serve, or a field out of its
// bounds is refused whole with an *Error that matches ErrMalformed,
// ErrTooLarge or ErrVersion.
//
// # Response
//
// The centre answers every upload, and every refusal, with a plain
// deterministic CBOR map (Content-Type application/x-sentinel-response):
//
//	1 version    uint
//	2 high water uint: every record up to and including it is stored
//	3 gap        bool: the range started past high water + 1; resume
//	             from high water + 1 (HTTP 409)
//	4 breaks     uint: records stored with a hash chain break flagged
//	5 code       text: on a refusal, one of the Code constants
//	6 message    text: on a refusal, what happened and what to do
//	7 mark hash  bstr (32): optional, the chain hash of record high water
//	             as the centre stored it
//	8 fork       uint: with 9, on a fork (HTTP 409, code "fork"), the
//	             first seq of the upload whose record differs from the
//	             one the centre holds (≤ high water)
//	9 branch     bstr (16): with 8, where the terminal sends its records
//	             from fork on
//
// # Forks
//
// A terminal whose data directory was restored from an older copy, or
// whose card was cloned, writes sequence numbers that the centre already
// holds with other records. The centre compares every record of an upload
// at or below its mark with the one it stored; at the first that differs
// it records the fork, stores nothing and answers 409 "fork" with the
// seq and a branch (an epoch id of its own, derived from the epoch, the
// seq and the differing record, so that a retry names the same branch).
// The terminal acknowledges the records before the fork, remembers the
// branch in its journal and sends its records from the fork on with
// field 9 set; the centre stores them under the branch, whose mark
// starts at fork-1. A centre answer of high water beyond the last record
// sent, with every record sent equal to the centre's, means the centre
// holds more of the epoch than the terminal (a restored copy that has
// not yet written anything new): the terminal acknowledges what it sent
// only, and its next record makes the fork.
//
// An epoch belongs to the terminal that first uploaded it: another
// terminal's upload to it is refused with 403 "epoch-owner".
//
// # Versions
//
// Version is the version this package writes; a server serves every
// version from MinVersion to Version, so that terminals can be upgraded
// over weeks. A new version bumps Version, keeps the decoder of the old
// one and sets MinVersion to the old one.
package protocol
