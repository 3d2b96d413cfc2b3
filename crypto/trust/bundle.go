package trust

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"

	"sentinel/crypto/cose"
)

// bundleMagic is the first item of every bundle file.
const bundleMagic = "sentinel/bundle/1"

// Kind is a kind of bundle.
type Kind string

// The kinds of bundle.
const (
	KindTrust       Kind = "trust"
	KindStatusBase  Kind = "status-base"
	KindStatusDelta Kind = "status-delta"
	KindPolicy      Kind = "policy"
	KindConfig      Kind = "config"
	// KindColourRules is the centre's own kind: a code engine rule set,
	// sealed by `sentinel-central rules deploy` so that every deployment
	// names the key that signed it. Terminals never receive it, so Kinds
	// (the kinds terminals download) leaves it out.
	KindColourRules Kind = "colour-rules"
)

// Kinds returns every kind of bundle that terminals download.
func Kinds() []Kind {
	return []Kind{KindTrust, KindStatusBase, KindStatusDelta, KindPolicy, KindConfig}
}

// DelegableKinds returns every kind a delegation may name: Kinds and the
// centre's own KindColourRules.
func DelegableKinds() []Kind { return append(Kinds(), KindColourRules) }

// Valid reports whether k is a known kind (one of DelegableKinds).
func (k Kind) Valid() bool { return slices.Contains(DelegableKinds(), k) }

// Freshness says how current a terminal's bundle of one kind is. The zero
// value is FreshnessBlocked.
type Freshness int

// Freshness states, as policy sees them.
const (
	FreshnessBlocked Freshness = iota // no valid bundle at all
	FreshnessFresh                    // before fresh_until
	FreshnessGrace                    // after fresh_until, before grace_until
	FreshnessStale                    // after grace_until
)

// String returns "blocked", "fresh", "grace" or "stale".
func (f Freshness) String() string {
	switch f {
	case FreshnessFresh:
		return "fresh"
	case FreshnessGrace:
		return "grace"
	case FreshnessStale:
		return "stale"
	default:
		return "blocked"
	}
}

// MarshalText encodes the state as its String.
func (f Freshness) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText decodes a state written by MarshalText.
func (f *Freshness) UnmarshalText(b []byte) error {
	for _, v := range []Freshness{FreshnessBlocked, FreshnessFresh, FreshnessGrace, FreshnessStale} {
		if string(b) == v.String() {
			*f = v
			return nil
		}
	}
	return fmt.Errorf("trust: freshness %q: want blocked, fresh, grace or stale", b)
}

// Errors returned when opening a bundle. A rollback is reported as a
// *RollbackError, which matches ErrRollback.
var (
	// ErrNotBundle: the bytes are not a Sentinel bundle file at all.
	ErrNotBundle = errors.New("trust: not a Sentinel signed bundle")
	// ErrMalformedBundle: a bundle file whose structure or fields are wrong.
	ErrMalformedBundle = errors.New("trust: malformed bundle")
	// ErrUntrustedRoot: the bundle (or its delegation) is not signed by
	// the pinned operator root.
	ErrUntrustedRoot = errors.New("trust: not signed by the pinned operator root: the bundle comes from another deployment, or this terminal pins the wrong root")
	// ErrBundleSignature: the envelope's signature does not verify with
	// the delegated key.
	ErrBundleSignature = errors.New("trust: the bundle's signature does not verify: the file is damaged or was altered")
	// ErrDelegationRevoked: the operator revoked the key that signed.
	ErrDelegationRevoked = errors.New("trust: the bundle was signed by a key the operator has revoked")
	// ErrDelegationValidity: the delegation was not valid when the bundle
	// was issued, or is not valid now.
	ErrDelegationValidity = errors.New("trust: the bundle's signing key is not delegated at this time")
	// ErrKindNotDelegated: the signing key may not sign this kind.
	ErrKindNotDelegated = errors.New("trust: the signing key is not delegated for this kind of bundle")
	// ErrRollback: an older bundle, or different content under the
	// installed version, was offered.
	ErrRollback = errors.New("trust: refusing to roll back to an older bundle")
	// ErrWrongKind: a bundle of another kind was given.
	ErrWrongKind = errors.New("trust: wrong kind of bundle")
	// ErrTrustContent: a trust bundle's content cannot be loaded.
	ErrTrustContent = errors.New("trust: invalid trust bundle content")
)

// RollbackError reports a bundle that is not newer than the installed one.
type RollbackError struct {
	Kind      Kind
	Offered   uint64 // the version offered
	Installed uint64 // the version the terminal holds
}

// Error says what was refused and why.
func (e *RollbackError) Error() string {
	if e.Offered == e.Installed {
		return fmt.Sprintf("%s bundle version %d differs from the installed bundle of the same version: refusing it (the centre must publish a new version)",
			e.Kind, e.Offered)
	}
	return fmt.Sprintf("%s bundle version %d is older than the installed version %d: refusing to roll back",
		e.Kind, e.Offered, e.Installed)
}

// Is makes errors.Is(err, ErrRollback) true.
func (e *RollbackError) Is(target error) bool { return target == ErrRollback }

// Bundle is the signed envelope of one bundle.
//
// # Wire format
//
// Every bundle a terminal downloads (trust, status, policy, config) travels
// in one envelope. A bundle file is a CBOR array of three items:
//
//	[ "sentinel/bundle/1",   ; text: the format and its version
//	  delegation,            ; bstr: a COSE_Sign1 by the operator root over a
//	                         ;       delegation certificate, or empty when
//	                         ;       the root signed the bundle itself
//	  envelope ]             ; bstr: a tagged COSE_Sign1 (alg and kid in the
//	                         ;       protected header) by the delegated key
//	                         ;       (or the root) over the map below
//
// The envelope's payload is a deterministic CBOR map (RFC 8949 §4.2.1)
// with integer keys:
//
//	1  kind         text  "trust", "status-base", "status-delta", "policy", "config"
//	2  version      uint  goes up with every bundle of the kind
//	3  issued_at    int   seconds since the epoch
//	4  fresh_until  int   seconds since the epoch
//	5  grace_until  int   seconds since the epoch
//	6  payload      bstr  the kind's own content (a trust bundle: see TrustContent)
//	7  base         uint  status-delta only: the version the delta applies to
//
// A delegation certificate is a COSE_Sign1 by the root (kid: the root's
// KeyID) over the map
//
//	1  kid          bstr  KeyID of the delegated key (SHA-256 of its SPKI, 8 bytes)
//	2  public_key   bstr  SubjectPublicKeyInfo DER (Ed25519 or ECDSA P-256)
//	3  kinds        [text] the bundle kinds the key may sign
//	4  valid_from   int   seconds since the epoch
//	5  valid_to     int   seconds since the epoch
//
// The delegation rides outside the signed envelope so that a terminal that
// pins only the root verifies any bundle on its own. Unknown map keys are
// ignored, so later versions can add fields.
type Bundle struct {
	Kind       Kind
	Version    uint64
	Base       uint64 // status-delta: the version it applies to; 0 otherwise
	IssuedAt   time.Time
	FreshUntil time.Time
	GraceUntil time.Time
	Payload    []byte

	// Set by OpenBundle.
	Signer     KeyID       // the key that signed: the delegated key, or the root
	Delegation *Delegation // nil when the root signed the bundle itself
	Digest     [32]byte    // SHA-256 of the signed envelope map
}

// FreshnessAt returns the bundle's freshness at now.
func (b *Bundle) FreshnessAt(now time.Time) Freshness {
	switch {
	case now.Before(b.FreshUntil):
		return FreshnessFresh
	case now.Before(b.GraceUntil):
		return FreshnessGrace
	default:
		return FreshnessStale
	}
}

// Age returns how long ago the bundle was issued. It is negative when the
// clock at now is behind the centre's.
func (b *Bundle) Age(now time.Time) time.Duration { return now.Sub(b.IssuedAt) }

// State is what a terminal remembers between two bundles of a kind.
type State struct {
	Version uint64   // the installed version; 0 when none is installed
	Digest  [32]byte // Bundle.Digest of the installed bundle
	// Revoked lists the delegations that installed trust bundles revoked,
	// by the delegated key's id (so every delegation of that key is
	// revoked). The terminal keeps the union of every list it has seen
	// (BundleInfo.Revoked), so a later bundle cannot lift a revocation.
	Revoked []KeyID
}

// envelope is the signed map.
type envelope struct {
	Kind       string           `cbor:"1,keyasint"`
	Version    uint64           `cbor:"2,keyasint"`
	IssuedAt   int64            `cbor:"3,keyasint"`
	FreshUntil int64            `cbor:"4,keyasint"`
	GraceUntil int64            `cbor:"5,keyasint"`
	Payload    cose.BytesNoCopy `cbor:"6,keyasint"` // aliases the COSE message's payload
	Base       uint64           `cbor:"7,keyasint,omitempty"`
}

// bundleFile is the outer array.
type bundleFile struct {
	_          struct{} `cbor:",toarray"`
	Magic      string
	Delegation []byte
	Envelope   cose.BytesNoCopy // aliases the file's bytes while it is opened
}

// bundleDecMode decodes outside bytes: duplicate keys refused, sizes
// bounded by the input (status bundles hold millions of entries).
var bundleDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  16,
		MaxArrayElements: 1 << 24,
		MaxMapPairs:      1 << 24,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// IsBundle reports whether data looks like a signed bundle file (it checks
// the format marker only; OpenBundle verifies).
func IsBundle(data []byte) bool {
	prefix := append([]byte{0x83, 0x60 | byte(len(bundleMagic))}, bundleMagic...)
	return bytes.HasPrefix(data, prefix)
}

func (b *Bundle) check() error {
	switch {
	case !b.Kind.Valid():
		return fmt.Errorf("%w: unknown kind %q", ErrMalformedBundle, b.Kind)
	case b.Version == 0:
		return fmt.Errorf("%w: version 0: versions start at 1", ErrMalformedBundle)
	case b.IssuedAt.Unix() <= 0:
		return fmt.Errorf("%w: no issue time", ErrMalformedBundle)
	case b.FreshUntil.Before(b.IssuedAt):
		return fmt.Errorf("%w: fresh until %s, before it was issued", ErrMalformedBundle, b.FreshUntil.UTC().Format(time.RFC3339))
	case b.GraceUntil.Before(b.FreshUntil):
		return fmt.Errorf("%w: grace until %s, before fresh until", ErrMalformedBundle, b.GraceUntil.UTC().Format(time.RFC3339))
	case b.Kind == KindStatusDelta && (b.Base == 0 || b.Base >= b.Version):
		return fmt.Errorf("%w: status delta version %d applies to version %d: it must apply to an older one", ErrMalformedBundle, b.Version, b.Base)
	case b.Kind != KindStatusDelta && b.Base != 0:
		return fmt.Errorf("%w: a %s bundle names a base version", ErrMalformedBundle, b.Kind)
	}
	return nil
}

// SealBundle signs b with signer. d is the delegation that lets signer sign
// b's kind, or nil when signer is the operator root itself. b's times are
// kept to the second.
func SealBundle(signer crypto.Signer, d *Delegation, b Bundle) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	spki, err := spkiOf(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	kid := KeyIDOf(spki)
	var dRaw []byte
	if d != nil {
		if kid != d.KID {
			return nil, fmt.Errorf("seal bundle: the signing key %s is not the delegated key %s", kid, d.KID)
		}
		if !slices.Contains(d.Kinds, b.Kind) {
			return nil, fmt.Errorf("seal bundle: %w: key %s may sign %s, not %s", ErrKindNotDelegated, d.KID, kindList(d.Kinds), b.Kind)
		}
		if !d.Validity.Contains(b.IssuedAt) {
			return nil, fmt.Errorf("seal bundle: %w: issued at %s, delegated %s", ErrDelegationValidity,
				b.IssuedAt.UTC().Format(time.RFC3339), d.Validity.describe())
		}
		dRaw = d.Raw
	}
	env, err := cose.EncMode().Marshal(envelope{
		Kind:       string(b.Kind),
		Version:    b.Version,
		IssuedAt:   b.IssuedAt.Unix(),
		FreshUntil: b.FreshUntil.Unix(),
		GraceUntil: b.GraceUntil.Unix(),
		Payload:    nonNil(b.Payload),
		Base:       b.Base,
	})
	if err != nil {
		return nil, fmt.Errorf("seal bundle: encode: %w", err)
	}
	msg, err := cose.Sign(nil, signer, kid[:], env)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: sign: %w", err)
	}
	out, err := cose.EncMode().Marshal(bundleFile{Magic: bundleMagic, Delegation: nonNil(dRaw), Envelope: msg})
	if err != nil {
		return nil, fmt.Errorf("seal bundle: encode: %w", err)
	}
	return out, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// OpenBundle verifies a bundle file against the pinned operator root at
// now and against what the terminal holds (last, for the bundle's kind):
// the root's signature on the delegation, the delegation's validity when
// the bundle was issued and now, the kind it allows, revoked delegations,
// the envelope's signature, and that the version goes up (the same version
// is accepted only with identical content, as when a download repeats).
//
// A verified bundle comes back with its freshness at now, stale included:
// policy decides what a stale bundle still allows. On any error the
// freshness is FreshnessBlocked: the data gives no valid bundle.
//
// now must come from a clock the terminal trusts: before the clock is set
// (a Raspberry Pi boots in 1970) every delegated bundle is refused as not
// yet delegated.
func OpenBundle(data []byte, root crypto.PublicKey, now time.Time, last State) (*Bundle, Freshness, error) {
	b, err := openBundle(data, root, now, last)
	if err != nil {
		return nil, FreshnessBlocked, err
	}
	return b, b.FreshnessAt(now), nil
}

func openBundle(data []byte, root crypto.PublicKey, now time.Time, last State) (*Bundle, error) {
	if !IsBundle(data) {
		return nil, ErrNotBundle
	}
	var f bundleFile
	if err := bundleDecMode.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	if f.Magic != bundleMagic {
		return nil, ErrNotBundle
	}
	var d *Delegation
	key := root
	if len(f.Delegation) > 0 {
		var err error
		if d, err = ParseDelegation(f.Delegation, root); err != nil {
			return nil, err
		}
		if slices.Contains(last.Revoked, d.KID) {
			return nil, fmt.Errorf("%w (%s)", ErrDelegationRevoked, d.KID)
		}
		key = d.Public
	}
	msg, err := cose.Parse(f.Envelope)
	if err != nil {
		return nil, fmt.Errorf("%w: envelope: %v", ErrMalformedBundle, err)
	}
	if err := msg.Verify(key); err != nil {
		if d == nil {
			return nil, fmt.Errorf("%w: %w", ErrUntrustedRoot, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrBundleSignature, err)
	}
	var env envelope
	if err := bundleDecMode.Unmarshal(msg.Payload, &env); err != nil {
		return nil, fmt.Errorf("%w: envelope: %v", ErrMalformedBundle, err)
	}
	b := &Bundle{
		Kind:       Kind(env.Kind),
		Version:    env.Version,
		Base:       env.Base,
		IssuedAt:   time.Unix(env.IssuedAt, 0).UTC(),
		FreshUntil: time.Unix(env.FreshUntil, 0).UTC(),
		GraceUntil: time.Unix(env.GraceUntil, 0).UTC(),
		Payload:    env.Payload,
		Delegation: d,
		Digest:     sha256.Sum256(msg.Payload),
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	if d != nil {
		b.Signer = d.KID
		if !slices.Contains(d.Kinds, b.Kind) {
			return nil, fmt.Errorf("%w: key %s may sign %s, not %s", ErrKindNotDelegated, d.KID, kindList(d.Kinds), b.Kind)
		}
		if !d.Validity.Contains(b.IssuedAt) {
			return nil, fmt.Errorf("%w: the bundle was issued at %s, the key %s is delegated %s",
				ErrDelegationValidity, b.IssuedAt.Format(time.RFC3339), d.KID, d.Validity.describe())
		}
		if !d.Validity.Contains(now) {
			return nil, fmt.Errorf("%w: it is %s, the key %s is delegated %s (check the clock, or fetch a bundle signed under a current delegation)",
				ErrDelegationValidity, now.UTC().Format(time.RFC3339), d.KID, d.Validity.describe())
		}
	} else {
		spki, err := spkiOf(root)
		if err != nil {
			return nil, err
		}
		b.Signer = KeyIDOf(spki)
	}
	if last.Version != 0 && (b.Version < last.Version || b.Version == last.Version && b.Digest != last.Digest) {
		return nil, &RollbackError{Kind: b.Kind, Offered: b.Version, Installed: last.Version}
	}
	return b, nil
}

func kindList(kinds []Kind) string {
	if len(kinds) == 0 {
		return "no kind"
	}
	var buf bytes.Buffer
	for i, k := range kinds {
		if i > 0 {
			buf.WriteString(", ")
		}
		buf.WriteString(string(k))
	}
	return buf.String()
}
