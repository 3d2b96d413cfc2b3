package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"

	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/internal/passage"
)

// RecordVersion is the newest record version this package writes and
// reads. Records of every earlier version keep their bytes and still
// decode; a record is written at the lowest version that can carry its
// fields (see recordVersion), so that a record without the newer fields
// keeps the bytes an older build wrote and reads.
//
//	1  the first version
//	2  adds the override's "of" (key 17.3): the seq of the overridden passage
const RecordVersion = 2

// MaxRecordSize bounds a stored record; DecodeRecord refuses larger input.
const MaxRecordSize = 16 << 10

// Seq is a record's sequence number within its epoch, from 1.
type Seq uint64

// Epoch identifies one journal file's unbroken chain.
type Epoch [16]byte

// String returns the epoch in hex.
func (e Epoch) String() string { return hex.EncodeToString(e[:]) }

// MarshalText implements encoding.TextMarshaler.
func (e Epoch) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// ParseEpoch parses an epoch written by Epoch.String.
func ParseEpoch(s string) (Epoch, error) {
	var e Epoch
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(e) {
		return e, fmt.Errorf("journal: epoch %q is not 32 hex digits", s)
	}
	copy(e[:], b)
	return e, nil
}

// Hash is a link of the hash chain.
type Hash [sha256.Size]byte

// String returns the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Genesis is the hash that the first record of an epoch links to.
func Genesis(e Epoch) Hash {
	h := sha256.New()
	h.Write([]byte("sentinel/journal genesis v1"))
	h.Write(e[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

// Chain returns the hash of a record: SHA-256(previous hash ‖ stored bytes).
func Chain(prev Hash, stored []byte) Hash {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(stored)
	var out Hash
	h.Sum(out[:0])
	return out
}

// seqKey is a record's bbolt key: the sequence number, big-endian.
func seqKey(s Seq) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(s))
	return k[:]
}

// Record is a decoded stored record: the readable fields and the sealed
// envelope. Its wire form is a deterministic CBOR map with integer keys;
// absent keys are zero values:
//
//	1  version        uint (RecordVersion)
//	2  epoch          bstr (16)
//	3  seq            uint (≥ 1)
//	4  prev           bstr (32): hash of the previous record, or Genesis
//	5  time           int: Unix milliseconds
//	6  clock trusted  bool
//	7  lane           text
//	8  format         text
//	9  issuer         text
//	10 key id         bstr
//	11 code colour    uint (credential.Colour)
//	12 status colour  text
//	13 decision       text: admit, deny or refer
//	14 reasons        [text]
//	15 policy version uint
//	16 bundles        {text: uint}
//	17 override       {1 who text, 2 why text, 3 of uint (version 2: the
//	                   seq of the overridden passage in the same epoch)}
//	18 sealed         {1 data key id bstr (8), 2 AES-256-GCM nonce ‖ ciphertext bstr}
//
// The sealed plaintext is a CBOR map: 1 holder kind uint, 2 holder issuer
// text, 3 holder index uint, 4 pseudonym bstr (16), 5 temperature
// available bool, 6 value int (nanokelvin), 7 ambient int (nanokelvin),
// 8 confidence uint (thousandths); the AEAD's additional data binds it to
// the epoch, seq and data key id.
type Record struct {
	Version       uint
	Epoch         Epoch
	Seq           Seq
	Prev          Hash
	Time          time.Time
	ClockTrusted  bool
	Lane          string
	Format        credential.Format
	Issuer        string
	KeyID         []byte
	CodeColour    credential.Colour
	StatusColour  string
	Decision      passage.Verdict
	Reasons       []string
	PolicyVersion uint64
	Bundles       map[string]uint64
	Override      *Override
	Sealed        Sealed
}

// Sealed is a record's sealed envelope.
type Sealed struct {
	KeyID DataKeyID // the data key, see WrappedKey
	Box   []byte    // nonce ‖ ciphertext ‖ tag
}

// DataKeyID names a data key.
type DataKeyID [8]byte

// String returns the id in hex.
func (d DataKeyID) String() string { return hex.EncodeToString(d[:]) }

// MarshalText implements encoding.TextMarshaler.
func (d DataKeyID) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

type wireRecord struct {
	Version       uint              `cbor:"1,keyasint"`
	Epoch         []byte            `cbor:"2,keyasint"`
	Seq           uint64            `cbor:"3,keyasint"`
	Prev          []byte            `cbor:"4,keyasint"`
	Time          int64             `cbor:"5,keyasint"`
	ClockTrusted  bool              `cbor:"6,keyasint,omitempty"`
	Lane          string            `cbor:"7,keyasint,omitempty"`
	Format        string            `cbor:"8,keyasint,omitempty"`
	Issuer        string            `cbor:"9,keyasint,omitempty"`
	KeyID         []byte            `cbor:"10,keyasint,omitempty"`
	CodeColour    uint8             `cbor:"11,keyasint,omitempty"`
	StatusColour  string            `cbor:"12,keyasint,omitempty"`
	Decision      string            `cbor:"13,keyasint"`
	Reasons       []string          `cbor:"14,keyasint,omitempty"`
	PolicyVersion uint64            `cbor:"15,keyasint,omitempty"`
	Bundles       map[string]uint64 `cbor:"16,keyasint,omitempty"`
	Override      *wireOverride     `cbor:"17,keyasint,omitempty"`
	Sealed        *wireSealed       `cbor:"18,keyasint"`
}

type wireOverride struct {
	Who string `cbor:"1,keyasint,omitempty"`
	Why string `cbor:"2,keyasint,omitempty"`
	Of  uint64 `cbor:"3,keyasint,omitempty"` // version 2
}

// recordVersion is the lowest version that carries w's fields.
func recordVersion(w *wireRecord) uint {
	if w.Override != nil && w.Override.Of != 0 {
		return 2
	}
	return 1
}

type wireSealed struct {
	KeyID []byte `cbor:"1,keyasint"`
	Box   []byte `cbor:"2,keyasint"`
}

type wireContents struct {
	HolderKind   uint8  `cbor:"1,keyasint,omitempty"`
	HolderIssuer string `cbor:"2,keyasint,omitempty"`
	HolderIndex  uint32 `cbor:"3,keyasint,omitempty"`
	Pseudonym    []byte `cbor:"4,keyasint,omitempty"`
	Available    bool   `cbor:"5,keyasint,omitempty"`
	Value        int64  `cbor:"6,keyasint,omitempty"`
	Ambient      int64  `cbor:"7,keyasint,omitempty"`
	Confidence   uint16 `cbor:"8,keyasint,omitempty"`
}

// decMode refuses duplicate keys, unknown keys, tags and indefinite
// lengths, and bounds sizes; DecodeRecord also insists on canonical bytes.
var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  MaxReasons,
		MaxMapPairs:       32,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// encodeRecord encodes the readable fields of p with the chain fields and
// the sealed envelope.
func encodeRecord(epoch Epoch, seq Seq, prev Hash, p *Passage, s Sealed) ([]byte, error) {
	w := wireRecord{
		Epoch:         epoch[:],
		Seq:           uint64(seq),
		Prev:          prev[:],
		Time:          p.Time.UnixMilli(),
		ClockTrusted:  p.ClockTrusted,
		Lane:          p.Lane,
		Format:        string(p.Format),
		Issuer:        p.Issuer,
		KeyID:         p.KeyID,
		CodeColour:    uint8(p.CodeColour),
		StatusColour:  p.StatusColour,
		Decision:      string(p.Decision),
		Reasons:       p.Reasons,
		PolicyVersion: p.PolicyVersion,
		Bundles:       p.Bundles,
		Sealed:        &wireSealed{KeyID: s.KeyID[:], Box: s.Box},
	}
	if len(w.KeyID) == 0 {
		w.KeyID = nil
	}
	if len(w.Reasons) == 0 {
		w.Reasons = nil
	}
	if len(w.Bundles) == 0 {
		w.Bundles = nil
	}
	if p.Override != nil {
		w.Override = &wireOverride{Who: p.Override.Who, Why: p.Override.Why, Of: uint64(p.Override.Of)}
	}
	w.Version = recordVersion(&w)
	return cose.EncMode().Marshal(&w)
}

// DecodeRecord decodes stored record bytes. It refuses anything but the
// canonical encoding of a record of a known version, so that a decoded
// record always re-encodes to the bytes the chain hashed.
func DecodeRecord(b []byte) (*Record, error) {
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(b), MaxRecordSize)
	}
	var w wireRecord
	if err := decMode.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if w.Version == 0 || w.Version > RecordVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads 1 to %d", ErrMalformed, w.Version, RecordVersion)
	}
	if want := recordVersion(&w); w.Version != want {
		// A version-1 record with a later field, or a record marked newer
		// than its fields: not what any build writes.
		return nil, fmt.Errorf("%w: version %d for fields of version %d", ErrMalformed, w.Version, want)
	}
	r := &Record{
		Version:       w.Version,
		Seq:           Seq(w.Seq),
		Time:          time.UnixMilli(w.Time).UTC(),
		ClockTrusted:  w.ClockTrusted,
		Lane:          w.Lane,
		Format:        credential.Format(w.Format),
		Issuer:        w.Issuer,
		KeyID:         w.KeyID,
		CodeColour:    credential.Colour(w.CodeColour),
		StatusColour:  w.StatusColour,
		Decision:      passage.Verdict(w.Decision),
		Reasons:       w.Reasons,
		PolicyVersion: w.PolicyVersion,
		Bundles:       w.Bundles,
	}
	switch {
	case len(w.Epoch) != len(r.Epoch):
		return nil, fmt.Errorf("%w: epoch of %d bytes", ErrMalformed, len(w.Epoch))
	case len(w.Prev) != len(r.Prev):
		return nil, fmt.Errorf("%w: previous hash of %d bytes", ErrMalformed, len(w.Prev))
	case w.Seq == 0:
		return nil, fmt.Errorf("%w: sequence number 0", ErrMalformed)
	case w.Sealed == nil || len(w.Sealed.KeyID) != len(r.Sealed.KeyID):
		return nil, fmt.Errorf("%w: no sealed envelope with an 8-byte key id", ErrMalformed)
	}
	if !r.Decision.Valid() {
		return nil, fmt.Errorf("%w: decision %q", ErrMalformed, w.Decision)
	}
	copy(r.Epoch[:], w.Epoch)
	copy(r.Prev[:], w.Prev)
	copy(r.Sealed.KeyID[:], w.Sealed.KeyID)
	r.Sealed.Box = w.Sealed.Box
	if w.Override != nil {
		r.Override = &Override{Who: w.Override.Who, Why: w.Override.Why, Of: Seq(w.Override.Of)}
	}
	again, err := cose.EncMode().Marshal(&w)
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	return r, nil
}
