package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"sentinel/crypto/valueset"
)

// KeyID identifies a key: the first 8 bytes of the SHA-256 of its
// SubjectPublicKeyInfo (native keys) or of its certificate (EU DCC).
type KeyID [8]byte

// KeyIDOf returns the key id of DER bytes.
func KeyIDOf(der []byte) KeyID {
	sum := sha256.Sum256(der)
	var k KeyID
	copy(k[:], sum[:8])
	return k
}

// String returns the key id in hex.
func (k KeyID) String() string { return hex.EncodeToString(k[:]) }

// Validity is a window of time; a zero bound is open.
type Validity struct {
	NotBefore time.Time
	NotAfter  time.Time
}

// Contains reports whether t lies within the window, bounds included.
func (v Validity) Contains(t time.Time) bool {
	if !v.NotBefore.IsZero() && t.Before(v.NotBefore) {
		return false
	}
	if !v.NotAfter.IsZero() && t.After(v.NotAfter) {
		return false
	}
	return true
}

// NativeKey is a native issuer's public key.
type NativeKey struct {
	KID    KeyID
	Issuer string           // the region the key may issue for (ZJ, HB-WH, …)
	Public crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey (P-256)
	Validity
	Revoked bool // withdrawn by the trust bundle: codes it signed are refused
}

// DSC is an EU DCC document signer certificate.
type DSC struct {
	KID    KeyID
	Cert   *x509.Certificate
	Public crypto.PublicKey
	Validity
	Revoked bool
}

// SHCKey is one key of a SMART Health Card issuer's key set.
type SHCKey struct {
	// Issuer is the iss URL the key signs for; empty when the key set was
	// loaded on its own, without its issuer (any iss is then accepted and
	// shown as the card states it).
	Issuer string
	KID    string // the JWK thumbprint (base64url)
	Public *ecdsa.PublicKey
	Chain  []*x509.Certificate // x5c, when the JWK carries one
	Validity
	CRL *CRL // the issuer's revocation list for this key, if any
}

// CRL is a SMART Health Card revocation list for one key (method "rid").
type CRL struct {
	Version int
	// RIDs maps a revoked rid to the time from which it is revoked:
	// cards whose nbf is before it are refused. A zero time revokes all.
	RIDs map[string]time.Time
}

// Revoked reports whether a card with rid issued at nbf is revoked.
func (c *CRL) Revoked(rid string, nbf time.Time) bool {
	if c == nil || rid == "" {
		return false
	}
	at, ok := c.RIDs[rid]
	if !ok {
		return false
	}
	return at.IsZero() || nbf.Before(at)
}

// Errors returned when adding keys.
var (
	ErrKeyType = errors.New("trust: unsupported key type")
	ErrIssuer  = errors.New("trust: invalid issuer")
)

// Store is a set of trusted keys. Add keys while building it; once it is
// shared, only read it.
type Store struct {
	native    map[KeyID][]*NativeKey
	dsc       map[KeyID][]*DSC
	shc       map[string][]*SHCKey
	pseudonym []byte
	valueSets *valueset.Sets
	n         int
}

// New returns an empty store.
func New() *Store {
	return &Store{
		native: make(map[KeyID][]*NativeKey),
		dsc:    make(map[KeyID][]*DSC),
		shc:    make(map[string][]*SHCKey),
	}
}

// Len returns the number of keys in the store.
func (s *Store) Len() int { return s.n }

// AddNativeKey trusts pub to sign native codes for issuer within v.
// Ed25519 and ECDSA P-256 keys are accepted.
func (s *Store) AddNativeKey(issuer string, pub crypto.PublicKey, v Validity) (*NativeKey, error) {
	if err := ValidIssuer(issuer); err != nil {
		return nil, err
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrKeyType, len(k))
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: native ECDSA keys must be P-256", ErrKeyType)
		}
	default:
		return nil, fmt.Errorf("%w: %T for a native issuer (want Ed25519 or P-256)", ErrKeyType, pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("trust: encode native key: %w", err)
	}
	k := &NativeKey{KID: KeyIDOf(der), Issuer: issuer, Public: pub, Validity: v}
	s.native[k.KID] = append(s.native[k.KID], k)
	s.n++
	return k, nil
}

// ValidIssuer checks a native issuer id: 1 to 16 characters of A-Z, 0-9
// and '-', as in "ZJ" or "HB-WH".
func ValidIssuer(issuer string) error {
	if len(issuer) == 0 || len(issuer) > 16 {
		return fmt.Errorf("%w: %q must be 1 to 16 characters", ErrIssuer, issuer)
	}
	for _, c := range issuer {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%w: %q may hold only A-Z, 0-9 and '-'", ErrIssuer, issuer)
		}
	}
	return nil
}

// AddDSC trusts an EU DCC document signer certificate within its own
// validity.
func (s *Store) AddDSC(cert *x509.Certificate) (*DSC, error) {
	switch k := cert.PublicKey.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		return nil, fmt.Errorf("%w: document signer key %T", ErrKeyType, k)
	}
	d := &DSC{
		KID:      KeyIDOf(cert.Raw),
		Cert:     cert,
		Public:   cert.PublicKey,
		Validity: Validity{NotBefore: cert.NotBefore, NotAfter: cert.NotAfter},
	}
	for _, have := range s.dsc[d.KID] {
		if string(have.Cert.Raw) == string(cert.Raw) {
			return have, nil // the same certificate twice is one key
		}
	}
	s.dsc[d.KID] = append(s.dsc[d.KID], d)
	s.n++
	return d, nil
}

// AddSHCKey trusts an SHC issuer key.
func (s *Store) AddSHCKey(k *SHCKey) {
	s.shc[k.KID] = append(s.shc[k.KID], k)
	s.n++
}

// NativeKeys returns the native keys with key id kid.
func (s *Store) NativeKeys(kid []byte) []*NativeKey {
	if len(kid) != len(KeyID{}) {
		return nil
	}
	return s.native[KeyID(kid)]
}

// DSCs returns the document signer certificates with key id kid; several
// certificates may share one.
func (s *Store) DSCs(kid []byte) []*DSC {
	if len(kid) != len(KeyID{}) {
		return nil
	}
	return s.dsc[KeyID(kid)]
}

// SHCKeys returns the SHC keys with key id kid.
func (s *Store) SHCKeys(kid string) []*SHCKey { return s.shc[kid] }

// SetPseudonymKey sets the deployment's pseudonym key.
func (s *Store) SetPseudonymKey(key []byte) { s.pseudonym = append([]byte(nil), key...) }

// PseudonymKey returns the deployment's pseudonym key, or nil when none is
// loaded (holders of EU DCC and SHC then stay unidentified).
func (s *Store) PseudonymKey() []byte { return s.pseudonym }

// SetValueSets sets the EU DCC value sets that codes are checked against.
func (s *Store) SetValueSets(vs *valueset.Sets) { s.valueSets = vs }

// ValueSets returns the EU DCC value sets, or nil when none are loaded
// (the EU DCC verifier then skips the check).
func (s *Store) ValueSets() *valueset.Sets {
	if s == nil {
		return nil
	}
	return s.valueSets
}

// RevokeNative marks the native key kid as revoked.
func (s *Store) RevokeNative(kid KeyID) {
	for _, k := range s.native[kid] {
		k.Revoked = true
	}
}

// RevokeDSC marks the document signer certificates with kid as revoked.
func (s *Store) RevokeDSC(kid KeyID) {
	for _, k := range s.dsc[kid] {
		k.Revoked = true
	}
}
