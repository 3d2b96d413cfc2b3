// Package bundlestest makes the keys and payloads that tests of the bundle
// repository, the sync download and the command line publish: an operator
// root, an online signing key delegated for every kind, and a valid payload
// of each kind (plus a policy that does not compile).
package bundlestest

import (
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
	"sentinel/internal/status"
)

// Keys are a deployment's operator root and a delegated online key.
type Keys struct {
	Root       crypto.Signer
	Signer     crypto.Signer
	Delegation *trust.Delegation
}

// NewKeys makes a root and an online key delegated for every kind from a
// day before now to 90 days after.
func NewKeys(t testing.TB, now time.Time) *Keys {
	t.Helper()
	root, err := trust.GenerateRoot(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := trust.GenerateKey(nil, trust.KeyP256)
	if err != nil {
		t.Fatal(err)
	}
	d, err := trust.Delegate(root, signer.Public(), trust.Kinds(), now.Add(-24*time.Hour), now.Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return &Keys{Root: root, Signer: signer, Delegation: d}
}

// Policy returns a policy payload; label becomes its Version.
func Policy(t testing.TB, label string) []byte {
	t.Helper()
	b, err := policy.DefaultBundle(siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	b.Version = label
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BadPolicy returns a policy payload whose rule names a variable the
// terminal's environment does not have.
func BadPolicy(t testing.TB) []byte {
	t.Helper()
	b, err := policy.DefaultBundle(siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	b.Rules = "rule fever\n  when temprature.celsius >= settings.fever\n  refer fever\n\ndefault admit\n"
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Config returns a config payload.
func Config(t testing.TB) []byte {
	t.Helper()
	p, err := siteconfig.Marshal(siteconfig.Default(siteconfig.Supermarket))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Trust returns a trust payload listing one native issuer key.
func Trust(t testing.TB) []byte {
	t.Helper()
	k, err := trust.GenerateKey(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	p, err := trust.MarshalTrustContent(&trust.TrustContent{Native: []trust.NativeEntry{{Issuer: "ZJ", SPKI: spki}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// StatusBase returns a status base payload setting ZJ holders' indexes
// to red at effective.
func StatusBase(t testing.TB, effective time.Time, indexes ...uint32) []byte {
	t.Helper()
	b := status.NewBuilder()
	for _, i := range indexes {
		if err := b.SetNative("ZJ", i, status.Entry{Status: status.Red, Effective: effective, Reason: 1}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.MarshalBase()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// StatusDelta returns a status delta payload setting ZJ holder index to s.
func StatusDelta(t testing.TB, effective time.Time, index uint32, s status.Status) []byte {
	t.Helper()
	b := status.NewBuilder()
	if err := b.SetNative("ZJ", index, status.Entry{Status: s, Effective: effective, Reason: 2}); err != nil {
		t.Fatal(err)
	}
	p, err := b.MarshalDelta()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
