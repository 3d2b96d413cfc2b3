package healthcode_test

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
)

// A fixed issuer key and clock keep the examples reproducible; a real
// issuer loads its key with trust.ParseSigningKey.
var (
	issuerKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	issuedAt  = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
)

func ExampleNewIssuer() {
	is, err := healthcode.NewIssuer("ZJ", issuerKey, &healthcode.IssuerOptions{
		Clock: func() time.Time { return issuedAt },
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(is.ID(), is.KeyID())
	// Output: ZJ 339e2ff917630507
}

func ExampleIssuer_Issue() {
	is, err := healthcode.NewIssuer("ZJ", issuerKey, &healthcode.IssuerOptions{
		Clock: func() time.Time { return issuedAt },
	})
	if err != nil {
		panic(err)
	}
	code, err := is.Issue(healthcode.Claims{
		Index:       12345,
		Colour:      credential.ColourGreen,
		DisplayName: credential.MaskName("Zhang", "Wei"),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(code, healthcode.Prefix), len(code) < 300)
	// Output: true true
}

func ExampleDecode() {
	is, _ := healthcode.NewIssuer("ZJ", issuerKey, &healthcode.IssuerOptions{
		Clock: func() time.Time { return issuedAt },
	})
	code, _ := is.Issue(healthcode.Claims{Index: 12345, Colour: credential.ColourYellow, DisplayName: "Zhang *"})

	// The terminal trusts the issuer's public key, from its trust bundle.
	store := trust.New()
	store.AddNativeKey("ZJ", issuerKey.Public(), trust.Validity{})

	u, err := healthcode.Decode(code)
	if err != nil {
		fmt.Println(credential.ReasonOf(err))
		return
	}
	cred, err := u.Verify(store, healthcode.VerifyOptions{Now: issuedAt.Add(time.Hour)})
	if err != nil {
		fmt.Println(credential.ReasonOf(err))
		return
	}
	fmt.Println(cred.Holder, cred.Colour, cred.DisplayName, cred.Paper)

	_, err = u.Verify(store, healthcode.VerifyOptions{Now: issuedAt.Add(25 * time.Hour)})
	fmt.Println(credential.ReasonOf(err))
	// Output:
	// ZJ:12345 yellow Zhang * true
	// expired
}

func ExampleNewPresenter() {
	holder := ed25519.NewKeyFromSeed([]byte("the holder's seed, 32 bytes long"))
	is, _ := healthcode.NewIssuer("ZJ", issuerKey, &healthcode.IssuerOptions{
		Clock: func() time.Time { return issuedAt },
	})
	credentialText, _ := is.Issue(healthcode.Claims{
		Index: 12345, Colour: credential.ColourGreen, HolderKey: holder.Public(),
	})

	// On the phone: a new code every 30 seconds.
	p, err := healthcode.NewPresenter(credentialText, holder)
	if err != nil {
		panic(err)
	}
	now := issuedAt.Add(10 * time.Minute)
	live, _ := p.Code(now)

	store := trust.New()
	store.AddNativeKey("ZJ", issuerKey.Public(), trust.Validity{})
	cred, err := healthcode.Verify(live, store, healthcode.VerifyOptions{Now: now.Add(5 * time.Second)})
	fmt.Println(cred.Rolling, err)

	// A screenshot of it, two minutes later.
	_, err = healthcode.Verify(live, store, healthcode.VerifyOptions{Now: now.Add(2 * time.Minute)})
	fmt.Println(credential.ReasonOf(err))
	// Output:
	// true <nil>
	// live-code-stale
}
