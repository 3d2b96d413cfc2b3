package journal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/internal/passage"
)

// The HPKE suite that wraps data keys (the KEM is the centre key's).
var (
	wrapKDF  = hpke.HKDFSHA256()
	wrapAEAD = hpke.AES256GCM()
)

// WrappedKey is a data key as the journal stores it: wrapped with HPKE to
// the centre's public key. Its wire form is a deterministic CBOR map:
//
//	1 id bstr (8), 2 epoch bstr (16), 3 created int (Unix ms),
//	4 KEM id uint, 5 KDF id uint, 6 AEAD id uint,
//	7 HPKE enc ‖ ciphertext bstr, 8 centre key id bstr (8), 9 ephemeral bool
//
// The HPKE info string is "sentinel/journal data key v1" ‖ epoch ‖ id.
type WrappedKey struct {
	ID      DataKeyID
	Epoch   Epoch
	Created time.Time
	KEM     uint16
	KDF     uint16
	AEAD    uint16
	Wrapped []byte
	// Centre is the first 8 bytes of SHA-256 of the centre's public key,
	// to tell which of the centre's keys opens it.
	Centre [8]byte
	// Ephemeral marks a key wrapped to a throwaway key pair because no
	// centre key was configured: nobody can open it.
	Ephemeral bool
}

type wireKey struct {
	ID        []byte `cbor:"1,keyasint"`
	Epoch     []byte `cbor:"2,keyasint"`
	Created   int64  `cbor:"3,keyasint"`
	KEM       uint16 `cbor:"4,keyasint"`
	KDF       uint16 `cbor:"5,keyasint"`
	AEAD      uint16 `cbor:"6,keyasint"`
	Wrapped   []byte `cbor:"7,keyasint"`
	Centre    []byte `cbor:"8,keyasint"`
	Ephemeral bool   `cbor:"9,keyasint,omitempty"`
}

// Marshal returns the stored form.
func (k *WrappedKey) Marshal() ([]byte, error) {
	return cose.EncMode().Marshal(&wireKey{
		ID: k.ID[:], Epoch: k.Epoch[:], Created: k.Created.UnixMilli(),
		KEM: k.KEM, KDF: k.KDF, AEAD: k.AEAD, Wrapped: k.Wrapped,
		Centre: k.Centre[:], Ephemeral: k.Ephemeral,
	})
}

// DecodeWrappedKey decodes a stored data key entry.
func DecodeWrappedKey(b []byte) (*WrappedKey, error) {
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%w: key entry of %d bytes", ErrMalformed, len(b))
	}
	var w wireKey
	if err := decMode.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: key entry: %v", ErrMalformed, err)
	}
	k := &WrappedKey{Created: time.UnixMilli(w.Created).UTC(), KEM: w.KEM, KDF: w.KDF, AEAD: w.AEAD, Wrapped: w.Wrapped, Ephemeral: w.Ephemeral}
	if len(w.ID) != len(k.ID) || len(w.Epoch) != len(k.Epoch) || len(w.Centre) != len(k.Centre) {
		return nil, fmt.Errorf("%w: key entry with a bad id, epoch or centre key id", ErrMalformed)
	}
	copy(k.ID[:], w.ID)
	copy(k.Epoch[:], w.Epoch)
	copy(k.Centre[:], w.Centre)
	return k, nil
}

// CentreKeyID returns the id WrappedKey.Centre gives a centre public key.
func CentreKeyID(pub hpke.PublicKey) [8]byte {
	sum := sha256.Sum256(pub.Bytes())
	var id [8]byte
	copy(id[:], sum[:8])
	return id
}

func wrapInfo(epoch Epoch, id DataKeyID) []byte {
	info := []byte("sentinel/journal data key v1")
	info = append(info, epoch[:]...)
	return append(info, id[:]...)
}

func recordAAD(epoch Epoch, seq Seq, id DataKeyID) []byte {
	aad := make([]byte, 0, 64)
	aad = append(aad, "sentinel/journal record v1"...)
	aad = append(aad, epoch[:]...)
	aad = binary.BigEndian.AppendUint64(aad, uint64(seq))
	return append(aad, id[:]...)
}

// dataKey is the clear data key, in memory only.
type dataKey struct {
	entry  WrappedKey
	stored []byte // the entry's stored form
	aead   cipher.AEAD
	saved  bool // committed to the keys bucket
}

// newDataKey makes a data key for epoch and wraps it to centre, or to a
// throwaway key when centre is nil.
func newDataKey(epoch Epoch, centre hpke.PublicKey, now time.Time) (*dataKey, error) {
	ephemeral := centre == nil
	if ephemeral {
		priv, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
		if err != nil {
			return nil, fmt.Errorf("make throwaway key: %w", err)
		}
		centre = priv.PublicKey() // priv is dropped here
	}
	var clear [32]byte
	rand.Read(clear[:])
	k := &dataKey{entry: WrappedKey{
		Epoch: epoch, Created: now.UTC().Truncate(time.Millisecond),
		KEM: centre.KEM().ID(), KDF: wrapKDF.ID(), AEAD: wrapAEAD.ID(),
		Centre: CentreKeyID(centre), Ephemeral: ephemeral,
	}}
	rand.Read(k.entry.ID[:])
	wrapped, err := hpke.Seal(centre, wrapKDF, wrapAEAD, wrapInfo(epoch, k.entry.ID), clear[:])
	if err != nil {
		return nil, fmt.Errorf("wrap data key: %w", err)
	}
	k.entry.Wrapped = wrapped
	if k.stored, err = k.entry.Marshal(); err != nil {
		return nil, err
	}
	if k.aead, err = newAEAD(clear[:]); err != nil {
		return nil, err
	}
	clear = [32]byte{}
	return k, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// seal encrypts the holder and temperature of p.
func (k *dataKey) seal(epoch Epoch, seq Seq, p *Passage) (Sealed, error) {
	w := wireContents{
		HolderKind:   uint8(p.Holder.Kind),
		HolderIssuer: p.Holder.Issuer,
		HolderIndex:  p.Holder.Index,
		Available:    p.Temperature.Available(),
	}
	if p.Holder.Pseudonym != ([credential.PseudonymSize]byte{}) {
		w.Pseudonym = p.Holder.Pseudonym[:]
	}
	if w.Available {
		w.Value = int64(p.Temperature.Value)
		w.Ambient = int64(p.Temperature.Ambient)
		w.Confidence = uint16(math.Round(p.Temperature.Confidence * 1000))
	}
	pt, err := cose.EncMode().Marshal(&w)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{KeyID: k.entry.ID, Box: k.aead.Seal(nil, nil, pt, recordAAD(epoch, seq, k.entry.ID))}, nil
}

// Contents are a record's sealed fields, opened.
type Contents struct {
	Holder      credential.Holder
	Temperature passage.Temperature
}

// Opener opens sealed fields with the centre's private key: the central
// ingest uses it, and so do tests. It is not safe for concurrent use.
type Opener struct {
	priv hpke.PrivateKey
	keys map[DataKeyID]cipher.AEAD
}

// NewOpener returns an Opener for the centre's private key.
func NewOpener(priv hpke.PrivateKey) *Opener {
	return &Opener{priv: priv, keys: make(map[DataKeyID]cipher.AEAD)}
}

// AddKey unwraps a data key entry (as Journal.Keys returns it) so that
// Open can open the records sealed with it.
func (o *Opener) AddKey(stored []byte) error {
	k, err := DecodeWrappedKey(stored)
	if err != nil {
		return err
	}
	if k.Ephemeral {
		return fmt.Errorf("%w: data key %s was wrapped to a throwaway key (terminal not enrolled)", ErrSealed, k.ID)
	}
	if k.KEM != o.priv.KEM().ID() || k.KDF != wrapKDF.ID() || k.AEAD != wrapAEAD.ID() {
		return fmt.Errorf("%w: data key %s uses HPKE suite %#x/%#x/%#x", ErrSealed, k.ID, k.KEM, k.KDF, k.AEAD)
	}
	clear, err := hpke.Open(o.priv, wrapKDF, wrapAEAD, wrapInfo(k.Epoch, k.ID), k.Wrapped)
	if err != nil {
		return fmt.Errorf("%w: data key %s: %v", ErrSealed, k.ID, err)
	}
	if len(clear) != 32 {
		return fmt.Errorf("%w: data key %s of %d bytes", ErrSealed, k.ID, len(clear))
	}
	a, err := newAEAD(clear)
	if err != nil {
		return err
	}
	o.keys[k.ID] = a
	return nil
}

// Open returns the sealed fields of r.
func (o *Opener) Open(r *Record) (*Contents, error) {
	a, ok := o.keys[r.Sealed.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: record %d needs data key %s", ErrNoKey, r.Seq, r.Sealed.KeyID)
	}
	pt, err := a.Open(nil, nil, r.Sealed.Box, recordAAD(r.Epoch, r.Seq, r.Sealed.KeyID))
	if err != nil {
		return nil, fmt.Errorf("%w: record %d: %v", ErrSealed, r.Seq, err)
	}
	var w wireContents
	if err := decMode.Unmarshal(pt, &w); err != nil {
		return nil, fmt.Errorf("%w: sealed fields of record %d: %v", ErrMalformed, r.Seq, err)
	}
	c := &Contents{
		Holder: credential.Holder{Kind: credential.HolderKind(w.HolderKind), Issuer: w.HolderIssuer, Index: w.HolderIndex},
	}
	if w.Available {
		c.Temperature = passage.Temperature{
			State: passage.TempOK, Value: physic.Temperature(w.Value), Ambient: physic.Temperature(w.Ambient),
			Confidence: float64(w.Confidence) / 1000,
		}
	}
	if len(w.Pseudonym) != 0 {
		if len(w.Pseudonym) != credential.PseudonymSize {
			return nil, fmt.Errorf("%w: pseudonym of %d bytes in record %d", ErrMalformed, len(w.Pseudonym), r.Seq)
		}
		copy(c.Holder.Pseudonym[:], w.Pseudonym)
	}
	return c, nil
}
