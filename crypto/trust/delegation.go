package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"slices"
	"time"

	"sentinel/crypto/cose"
)

// Delegation is a certificate by which the offline operator root lets an
// online key sign some kinds of bundle for a while.
type Delegation struct {
	KID      KeyID            // the delegated key's id
	Public   crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey (P-256)
	Kinds    []Kind
	Validity Validity
	Raw      []byte // the COSE_Sign1 as the root signed it
}

// delegationMap is the signed map of a delegation certificate.
type delegationMap struct {
	KID       []byte   `cbor:"1,keyasint"`
	SPKI      []byte   `cbor:"2,keyasint"`
	Kinds     []string `cbor:"3,keyasint"`
	ValidFrom int64    `cbor:"4,keyasint"`
	ValidTo   int64    `cbor:"5,keyasint"`
}

// KeyType is an algorithm for keys Sentinel generates.
type KeyType int

// Key types for the root, delegated signing keys and native issuer keys.
const (
	KeyEd25519 KeyType = iota // Ed25519 (EdDSA): recommended
	KeyP256                   // ECDSA P-256 (ES256)
)

// GenerateKey makes a new key pair of type t from rnd (nil for
// crypto/rand).
func GenerateKey(rnd io.Reader, t KeyType) (crypto.Signer, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	switch t {
	case KeyEd25519:
		_, priv, err := ed25519.GenerateKey(rnd)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		return priv, nil
	case KeyP256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		return priv, nil
	default:
		return nil, fmt.Errorf("generate key: %w: key type %d", ErrKeyType, t)
	}
}

// GenerateRoot makes a new operator root key pair. Keep the private key
// offline: it only signs delegations (and, rarely, trust bundles itself).
// Terminals pin its public key.
func GenerateRoot(rnd io.Reader, t KeyType) (crypto.Signer, error) { return GenerateKey(rnd, t) }

// spkiOf returns the SubjectPublicKeyInfo DER of an Ed25519 or P-256 key.
func spkiOf(pub crypto.PublicKey) ([]byte, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrKeyType, len(k))
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA keys must be P-256", ErrKeyType)
		}
	default:
		return nil, fmt.Errorf("%w: %T (want Ed25519 or P-256)", ErrKeyType, pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return der, nil
}

// KeyIDOfPublic returns the KeyID of an Ed25519 or P-256 public key.
func KeyIDOfPublic(pub crypto.PublicKey) (KeyID, error) {
	der, err := spkiOf(pub)
	if err != nil {
		return KeyID{}, err
	}
	return KeyIDOf(der), nil
}

// Delegate has the operator root sign a delegation letting pub sign the
// given kinds of bundle from from to to.
func Delegate(root crypto.Signer, pub crypto.PublicKey, kinds []Kind, from, to time.Time) (*Delegation, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("delegate: no kinds: name the bundles the key may sign (%s)", kindList(DelegableKinds()))
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		if !k.Valid() {
			return nil, fmt.Errorf("delegate: unknown kind %q (known: %s)", k, kindList(DelegableKinds()))
		}
		names[i] = string(k)
	}
	if from.IsZero() || to.IsZero() || !to.After(from) {
		return nil, fmt.Errorf("delegate: valid from %s to %s is not a window", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	spki, err := spkiOf(pub)
	if err != nil {
		return nil, fmt.Errorf("delegate: %w", err)
	}
	rootSPKI, err := spkiOf(root.Public())
	if err != nil {
		return nil, fmt.Errorf("delegate: root: %w", err)
	}
	kid := KeyIDOf(spki)
	rootKID := KeyIDOf(rootSPKI)
	if kid == rootKID {
		return nil, fmt.Errorf("delegate: the delegated key is the root itself: generate a separate online signing key")
	}
	payload, err := cose.EncMode().Marshal(delegationMap{
		KID: kid[:], SPKI: spki, Kinds: names, ValidFrom: from.Unix(), ValidTo: to.Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("delegate: encode: %w", err)
	}
	raw, err := cose.Sign(nil, root, rootKID[:], payload)
	if err != nil {
		return nil, fmt.Errorf("delegate: sign: %w", err)
	}
	return ParseDelegation(raw, root.Public())
}

// ParseDelegation verifies a delegation certificate with the operator
// root's public key and decodes it. It does not judge its validity window.
func ParseDelegation(raw []byte, root crypto.PublicKey) (*Delegation, error) {
	msg, err := cose.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: delegation: %v", ErrMalformedBundle, err)
	}
	rootKID, err := KeyIDOfPublic(root)
	if err != nil {
		return nil, fmt.Errorf("pinned root: %w", err)
	}
	if kid := msg.KID(); kid != nil && string(kid) != string(rootKID[:]) {
		return nil, fmt.Errorf("%w: the delegation was signed by root %x, the pinned root is %s", ErrUntrustedRoot, kid, rootKID)
	}
	if err := msg.Verify(root); err != nil {
		return nil, fmt.Errorf("%w: delegation: %w", ErrUntrustedRoot, err)
	}
	var m delegationMap
	if err := bundleDecMode.Unmarshal(msg.Payload, &m); err != nil {
		return nil, fmt.Errorf("%w: delegation: %v", ErrMalformedBundle, err)
	}
	pub, err := x509.ParsePKIXPublicKey(m.SPKI)
	if err != nil {
		return nil, fmt.Errorf("%w: delegation: public key: %v", ErrMalformedBundle, err)
	}
	kid, err := KeyIDOfPublic(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: delegation: %w", ErrMalformedBundle, err)
	}
	if string(m.KID) != string(kid[:]) {
		return nil, fmt.Errorf("%w: delegation: kid %x is not its key's id %s", ErrMalformedBundle, m.KID, kid)
	}
	d := &Delegation{
		KID:      kid,
		Public:   pub,
		Validity: Validity{NotBefore: time.Unix(m.ValidFrom, 0).UTC(), NotAfter: time.Unix(m.ValidTo, 0).UTC()},
		Raw:      raw,
	}
	for _, n := range m.Kinds {
		k := Kind(n)
		if !k.Valid() {
			continue // a kind this build does not know
		}
		if !slices.Contains(d.Kinds, k) {
			d.Kinds = append(d.Kinds, k)
		}
	}
	return d, nil
}

// describe says the window in words.
func (v Validity) describe() string {
	switch {
	case v.NotBefore.IsZero() && v.NotAfter.IsZero():
		return "without limit"
	case v.NotBefore.IsZero():
		return "until " + v.NotAfter.UTC().Format(time.RFC3339)
	case v.NotAfter.IsZero():
		return "from " + v.NotBefore.UTC().Format(time.RFC3339)
	}
	return "from " + v.NotBefore.UTC().Format(time.RFC3339) + " to " + v.NotAfter.UTC().Format(time.RFC3339)
}

// PEM block types of key files.
const (
	pemPrivateKey   = "PRIVATE KEY"
	pemECPrivateKey = "EC PRIVATE KEY"
)

// MarshalSigningKey encodes a private key (Ed25519 or P-256) as a PKCS #8
// "PRIVATE KEY" PEM block. Write it with mode 0600.
func MarshalSigningKey(k crypto.Signer) ([]byte, error) {
	if _, err := spkiOf(k.Public()); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// ParseSigningKey decodes a private key PEM (PKCS #8, or SEC 1 "EC PRIVATE
// KEY") holding an Ed25519 or P-256 key.
func ParseSigningKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("private key: not a PEM file")
	}
	var k any
	var err error
	switch b.Type {
	case pemPrivateKey:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case pemECPrivateKey:
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("private key: PEM block %q, want %q (is this a public key?)", b.Type, pemPrivateKey)
	}
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key: %w: %T", ErrKeyType, k)
	}
	if _, err := spkiOf(s.Public()); err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	return s, nil
}

// MarshalPublicKey encodes a public key (Ed25519 or P-256) as a plain
// "PUBLIC KEY" PEM block, as the root's public key file is written.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := spkiOf(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// ParsePublicKey decodes an Ed25519 or P-256 public key from a "PUBLIC
// KEY" PEM block (headers are ignored) or SubjectPublicKeyInfo DER.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	der := data
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != pemPublicKey {
			return nil, fmt.Errorf("public key: PEM block %q, want %q", b.Type, pemPublicKey)
		}
		der = b.Bytes
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if _, err := spkiOf(pub); err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return pub, nil
}
