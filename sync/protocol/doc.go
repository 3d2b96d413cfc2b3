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
//
// # Versions
//
// Version is the version this package writes; a server serves every
// version from MinVersion to Version, so that terminals can be upgraded
// over weeks. A new version bumps Version, keeps the decoder of the old
// one and sets MinVersion to the old one.
package protocol
