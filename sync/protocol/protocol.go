package protocol

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"unicode/utf8"

	"sentinel/crypto/cose"
	"sentinel/internal/inflate"
	"sentinel/sync/journal"
)

// Versions served.
const (
	// Version is the protocol version this package writes.
	Version = 1
	// MinVersion is the oldest version a server still serves.
	MinVersion = 1
)

// Limits.
const (
	// MaxRecords bounds the records of one upload (and is the CBOR
	// decoder's bound on array elements).
	MaxRecords = 4096
	// MaxDeviceLen bounds a device id in bytes.
	MaxDeviceLen = 128
	// MaxKeys bounds the data key entries of one upload, MaxKeySize each.
	MaxKeys    = 256
	MaxKeySize = 4 << 10
	// DefaultMaxInflated is the default bound on an upload's size once
	// decompressed: MaxRecords records of journal.MaxRecordSize plus keys.
	DefaultMaxInflated = MaxRecords*(journal.MaxRecordSize+8) + MaxKeys*(MaxKeySize+8) + 1024
	// MaxResponse bounds a response's size.
	MaxResponse = 4 << 10
)

// Content types.
const (
	UploadType   = "application/x-sentinel-upload"
	ResponseType = "application/x-sentinel-response"
)

// Codes of a refusal (Response.Code).
const (
	CodeMalformed   = "malformed"   // the batch is not valid; nothing stored
	CodeTooLarge    = "too-large"   // the request exceeds the centre's limit; send fewer records
	CodeVersion     = "version"     // the protocol version is not served
	CodeRate        = "rate"        // too many requests; wait for Retry-After
	CodeIdentity    = "identity"    // the device is unknown or not the certificate's
	CodeUnavailable = "unavailable" // the centre cannot store now; retry later
	CodeGap         = "gap"         // the range starts past the centre's mark; resume from HighWater+1
	CodeFork        = "fork"        // the centre holds other records at these seqs; send from Fork under Branch
	CodeBranch      = "branch"      // the centre knows no such branch of the epoch; send under the epoch again
	CodeEpochOwner  = "epoch-owner" // the epoch belongs to another terminal; nothing stored
)

// Errors returned by the decoders; every *Error matches one of them.
var (
	ErrMalformed = errors.New("protocol: malformed message")
	ErrTooLarge  = errors.New("protocol: message too large")
	ErrVersion   = errors.New("protocol: unsupported protocol version")
)

// Error says why a message was refused. It matches (errors.Is) its Kind.
type Error struct {
	Kind   error  // ErrMalformed, ErrTooLarge or ErrVersion
	Detail string // what is wrong, e.g. "record 3 is empty"
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Detail }

// Unwrap returns Kind.
func (e *Error) Unwrap() error { return e.Kind }

func malformed(format string, args ...any) error {
	return &Error{Kind: ErrMalformed, Detail: fmt.Sprintf(format, args...)}
}

// UploadPath is the HTTP path of an upload in protocol version v.
func UploadPath(v int) string { return fmt.Sprintf("/v%d/upload", v) }

// Upload is one upload request: a contiguous range of one journal epoch.
type Upload struct {
	Version int
	Device  string
	Epoch   journal.Epoch
	First   journal.Seq  // seq of Records[0]
	Prev    journal.Hash // chain hash of record First-1 (Genesis for 1)
	Records [][]byte     // stored bytes, unchanged
	Keys    [][]byte     // wrapped data key entries, optional
	// Salvaged marks a range recovered from a damaged journal
	// (journal.Salvage): records between the centre's mark and First may
	// be lost for good, so the centre stores the range with the loss
	// flagged as a chain break instead of answering a gap.
	Salvaged bool
	// Branch, when not zero, is the branch that the centre named in a
	// fork answer: the records (of Epoch, from the fork on) are stored
	// under it.
	Branch journal.Epoch
}

// Last returns the sequence number of the last record.
func (u *Upload) Last() journal.Seq { return u.First + journal.Seq(len(u.Records)) - 1 }

type wireUpload struct {
	Version uint64   `cbor:"1,keyasint"`
	Device  string   `cbor:"2,keyasint"`
	Epoch   []byte   `cbor:"3,keyasint"`
	First   uint64   `cbor:"4,keyasint"`
	Prev    []byte   `cbor:"5,keyasint"`
	Records [][]byte `cbor:"6,keyasint"`
	Keys    [][]byte `cbor:"7,keyasint,omitempty"`
	Salvage bool     `cbor:"8,keyasint,omitempty"`
	Branch  []byte   `cbor:"9,keyasint,omitempty"`
}

// Check reports whether u is within the protocol's bounds.
func (u *Upload) Check() error {
	switch {
	case u.Version < MinVersion || u.Version > Version:
		return &Error{Kind: ErrVersion, Detail: fmt.Sprintf("version %d, this side serves %d to %d: upgrade the terminal or the centre", u.Version, MinVersion, Version)}
	case u.Device == "" || len(u.Device) > MaxDeviceLen || !utf8.ValidString(u.Device):
		return malformed("device id must be 1 to %d bytes of UTF-8", MaxDeviceLen)
	case u.First < 1:
		return malformed("first sequence number must be at least 1")
	case len(u.Records) < 1:
		return malformed("no records")
	case len(u.Records) > MaxRecords:
		return &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("%d records, at most %d", len(u.Records), MaxRecords)}
	case u.Last() < u.First:
		return malformed("sequence numbers overflow")
	case len(u.Keys) > MaxKeys:
		return &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("%d keys, at most %d", len(u.Keys), MaxKeys)}
	}
	for i, r := range u.Records {
		if len(r) == 0 || len(r) > journal.MaxRecordSize {
			return malformed("record %d (seq %d) has %d bytes, want 1 to %d", i, u.First+journal.Seq(i), len(r), journal.MaxRecordSize)
		}
	}
	for i, k := range u.Keys {
		if len(k) == 0 || len(k) > MaxKeySize {
			return malformed("key %d has %d bytes, want 1 to %d", i, len(k), MaxKeySize)
		}
	}
	return nil
}

// EncodeUpload checks u and returns its body: zlib of canonical CBOR.
// A zero u.Version means Version.
func EncodeUpload(u *Upload) ([]byte, error) {
	if u.Version == 0 {
		c := *u
		c.Version = Version
		u = &c
	}
	if err := u.Check(); err != nil {
		return nil, fmt.Errorf("protocol: encode upload: %w", err)
	}
	w := wireUpload{
		Version: uint64(u.Version), Device: u.Device, Epoch: u.Epoch[:],
		First: uint64(u.First), Prev: u.Prev[:], Records: u.Records, Keys: u.Keys, Salvage: u.Salvaged,
	}
	if u.Branch != (journal.Epoch{}) {
		w.Branch = u.Branch[:]
	}
	raw, err := cose.EncMode().Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("protocol: encode upload: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(raw)/3 + 64)
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("protocol: compress upload: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("protocol: compress upload: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeUpload decompresses and decodes an upload body, refusing more than
// maxInflated bytes of CBOR (DefaultMaxInflated when ≤ 0), anything but
// the canonical encoding, and fields out of bounds. It does not look
// inside the records (the server does, with journal.DecodeRecord).
func DecodeUpload(body []byte, maxInflated int) (*Upload, error) {
	if maxInflated <= 0 {
		maxInflated = DefaultMaxInflated
	}
	raw, err := inflate.Zlib(nil, body, maxInflated)
	if errors.Is(err, inflate.ErrTooLarge) {
		return nil, &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("more than %d bytes decompressed", maxInflated)}
	}
	if err != nil {
		return nil, malformed("not a zlib stream: %v", err)
	}
	var w wireUpload
	if err := decodeCanonical(raw, &w); err != nil {
		return nil, err
	}
	if w.Version > Version || w.Version < MinVersion {
		return nil, &Error{Kind: ErrVersion, Detail: fmt.Sprintf("version %d, this side serves %d to %d: upgrade the terminal or the centre", w.Version, MinVersion, Version)}
	}
	if len(w.Epoch) != len(journal.Epoch{}) {
		return nil, malformed("epoch has %d bytes, want %d", len(w.Epoch), len(journal.Epoch{}))
	}
	if len(w.Prev) != len(journal.Hash{}) {
		return nil, malformed("prev hash has %d bytes, want %d", len(w.Prev), len(journal.Hash{}))
	}
	u := &Upload{
		Version: int(w.Version), Device: w.Device, First: journal.Seq(w.First),
		Records: w.Records, Keys: w.Keys, Salvaged: w.Salvage,
	}
	copy(u.Epoch[:], w.Epoch)
	copy(u.Prev[:], w.Prev)
	if w.Branch != nil {
		if len(w.Branch) != len(u.Branch) {
			return nil, malformed("branch has %d bytes, want %d", len(w.Branch), len(u.Branch))
		}
		copy(u.Branch[:], w.Branch)
		if u.Branch == (journal.Epoch{}) || u.Branch == u.Epoch {
			return nil, malformed("branch is zero or the epoch itself")
		}
	}
	if err := u.Check(); err != nil {
		return nil, err
	}
	return u, nil
}

// decodeCanonical decodes raw into v and refuses it unless v re-encodes to
// the same bytes: no unknown fields, no other encoding of the same values.
func decodeCanonical(raw []byte, v any) error {
	rest, err := cose.DecMode().UnmarshalFirst(raw, v)
	if err != nil {
		return malformed("not a CBOR message of this protocol: %v", err)
	}
	if len(rest) != 0 {
		return malformed("%d bytes after the message", len(rest))
	}
	again, err := cose.EncMode().Marshal(v)
	if err != nil || !bytes.Equal(again, raw) {
		return malformed("not the canonical encoding (unknown fields or non-deterministic CBOR)")
	}
	return nil
}

// Response is the centre's answer to an upload.
type Response struct {
	Version   int
	HighWater journal.Seq // every record up to it is stored
	Gap       bool        // resume from HighWater+1
	Breaks    int         // records stored with a chain break flagged
	Code      string      // on a refusal: a Code constant
	Message   string      // on a refusal: what happened and what to do
	// MarkHash is the chain hash of record HighWater as the centre
	// stored it (on a fork answer; zero when not sent).
	MarkHash journal.Hash
	// Fork and Branch answer an upload holding a record at or below the
	// centre's mark that differs from the one it stored (CodeFork): the
	// first such seq, and the branch under which the terminal sends its
	// records from Fork on. Zero otherwise.
	Fork   journal.Seq
	Branch journal.Epoch
}

type wireResponse struct {
	Version   uint64 `cbor:"1,keyasint"`
	HighWater uint64 `cbor:"2,keyasint,omitempty"`
	Gap       bool   `cbor:"3,keyasint,omitempty"`
	Breaks    uint64 `cbor:"4,keyasint,omitempty"`
	Code      string `cbor:"5,keyasint,omitempty"`
	Message   string `cbor:"6,keyasint,omitempty"`
	MarkHash  []byte `cbor:"7,keyasint,omitempty"`
	Fork      uint64 `cbor:"8,keyasint,omitempty"`
	Branch    []byte `cbor:"9,keyasint,omitempty"`
}

// EncodeResponse returns r's canonical CBOR. A zero r.Version means
// Version; a message is cut to fit MaxResponse.
func EncodeResponse(r *Response) ([]byte, error) {
	v := r.Version
	if v == 0 {
		v = Version
	}
	if r.Breaks < 0 {
		return nil, fmt.Errorf("protocol: encode response: negative breaks %d", r.Breaks)
	}
	msg := r.Message
	if len(msg) > MaxResponse/2 {
		msg = msg[:MaxResponse/2]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
	}
	if (r.Fork == 0) != (r.Branch == journal.Epoch{}) {
		return nil, fmt.Errorf("protocol: encode response: fork %d and branch %s go together", r.Fork, r.Branch)
	}
	w := &wireResponse{
		Version: uint64(v), HighWater: uint64(r.HighWater), Gap: r.Gap,
		Breaks: uint64(r.Breaks), Code: r.Code, Message: msg, Fork: uint64(r.Fork),
	}
	if r.MarkHash != (journal.Hash{}) {
		w.MarkHash = r.MarkHash[:]
	}
	if r.Branch != (journal.Epoch{}) {
		w.Branch = r.Branch[:]
	}
	b, err := cose.EncMode().Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("protocol: encode response: %w", err)
	}
	return b, nil
}

// DecodeResponse decodes a response strictly (canonical CBOR, at most
// MaxResponse bytes, a served version).
func DecodeResponse(b []byte) (*Response, error) {
	if len(b) > MaxResponse {
		return nil, &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("response of %d bytes, at most %d", len(b), MaxResponse)}
	}
	var w wireResponse
	if err := decodeCanonical(b, &w); err != nil {
		return nil, err
	}
	if w.Version < MinVersion || w.Version > Version {
		return nil, &Error{Kind: ErrVersion, Detail: fmt.Sprintf("response version %d, this side serves %d to %d", w.Version, MinVersion, Version)}
	}
	if w.Breaks > MaxRecords {
		return nil, malformed("breaks %d exceed the records of one upload", w.Breaks)
	}
	if !utf8.ValidString(w.Code) || !utf8.ValidString(w.Message) {
		return nil, malformed("code or message is not UTF-8")
	}
	r := &Response{
		Version: int(w.Version), HighWater: journal.Seq(w.HighWater), Gap: w.Gap,
		Breaks: int(w.Breaks), Code: w.Code, Message: w.Message, Fork: journal.Seq(w.Fork),
	}
	if w.MarkHash != nil {
		if len(w.MarkHash) != len(r.MarkHash) {
			return nil, malformed("mark hash has %d bytes, want %d", len(w.MarkHash), len(r.MarkHash))
		}
		copy(r.MarkHash[:], w.MarkHash)
		if r.MarkHash == (journal.Hash{}) {
			return nil, malformed("mark hash is zero")
		}
	}
	if w.Branch != nil {
		if len(w.Branch) != len(r.Branch) {
			return nil, malformed("branch has %d bytes, want %d", len(w.Branch), len(r.Branch))
		}
		copy(r.Branch[:], w.Branch)
	}
	if (r.Fork == 0) != (r.Branch == journal.Epoch{}) {
		return nil, malformed("fork %d and branch %s go together", r.Fork, r.Branch)
	}
	if r.Fork > 0 && r.Fork > r.HighWater {
		return nil, malformed("fork at %d past the centre's mark %d", r.Fork, r.HighWater)
	}
	return r, nil
}
