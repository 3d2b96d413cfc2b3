package trust_test

import (
	"crypto/x509"
	"fmt"
	"time"

	"sentinel/crypto/trust"
)

func ExampleDelegate() {
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519) // kept offline
	online, _ := trust.GenerateKey(nil, trust.KeyP256)   // at the centre
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d, err := trust.Delegate(root, online.Public(), []trust.Kind{trust.KindStatusDelta}, from, from.AddDate(0, 0, 90))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Kinds, d.Validity.NotAfter.Format(time.DateOnly))
	// Output: [status-delta] 2026-05-30
}

func ExampleSealBundle() {
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	online, _ := trust.GenerateKey(nil, trust.KeyEd25519)
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	d, _ := trust.Delegate(root, online.Public(), []trust.Kind{trust.KindPolicy}, now, now.AddDate(0, 3, 0))

	data, err := trust.SealBundle(online, d, trust.Bundle{
		Kind: trust.KindPolicy, Version: 12, IssuedAt: now,
		FreshUntil: now.Add(24 * time.Hour), GraceUntil: now.Add(72 * time.Hour),
		Payload: []byte("policy source"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The terminal pins only the root's public key.
	b, fr, err := trust.OpenBundle(data, root.Public(), now.Add(30*time.Hour), trust.State{Version: 11})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Kind, b.Version, fr, b.Age(now.Add(30*time.Hour)))
	// Output: policy 12 grace 30h0m0s
}

func ExampleBuildTrustBundle() {
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	issuer, _ := trust.GenerateKey(nil, trust.KeyEd25519)
	der, _ := x509.MarshalPKIXPublicKey(issuer.Public())
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

	// The root may sign a trust bundle itself (no delegation).
	data, err := trust.BuildTrustBundle(root, nil, trust.Bundle{
		Version: 5, IssuedAt: now, FreshUntil: now.Add(24 * time.Hour), GraceUntil: now.Add(72 * time.Hour),
	}, &trust.TrustContent{
		Native:       []trust.NativeEntry{{Issuer: "ZJ", SPKI: der}},
		PseudonymKey: make([]byte, trust.PseudonymKeySize),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	store, info, err := trust.LoadTrustBundle(data, root.Public(), now, trust.State{Version: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.Version, info.Freshness, store.Len(), len(store.PseudonymKey()))
	// Output: 5 fresh 1 32
}
