package gate_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/crypto/verify"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
	"sentinel/sync/journal"
)

// memJournal keeps passages in memory; the daemon uses sync/journal.
type memJournal struct{ n journal.Seq }

func (j *memJournal) Append(ctx context.Context, p *journal.Passage) (journal.Seq, error) {
	j.n++
	return j.n, nil
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() (time.Time, bool) { return c.t, true }

// admitGreen admits green codes and denies everything else.
type admitGreen struct{}

func (admitGreen) Decide(in *gate.Input) gate.Decision {
	if in.Credential != nil && in.Credential.Colour == credential.ColourGreen {
		return gate.Decision{Verdict: passage.Admit}
	}
	return gate.Decision{Verdict: passage.Deny, Reasons: []string{string(in.Rejection)}}
}

func ExampleNew() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	store := trust.New()
	store.AddNativeKey("ZJ", key.Public(), trust.Validity{})

	g, err := gate.New(gate.Options{
		Lanes:   []gate.LaneConfig{{Name: "in-1"}},
		Journal: &memJournal{},
		Clock:   fixedClock{at.Add(time.Minute)},
		State:   &gate.State{Verifier: verify.New(store), Policy: admitGreen{}, Enrolled: true},
	})
	if err != nil {
		panic(err)
	}
	is, _ := healthcode.NewIssuer("ZJ", key, &healthcode.IssuerOptions{Clock: func() time.Time { return at }})
	code, _ := is.Issue(healthcode.Claims{Index: 7, Colour: credential.ColourGreen, DisplayName: "Zhang *"})

	res, err := g.Process(context.Background(), "in-1", []byte(code))
	fmt.Println(res.Passage.Decision, res.Seq, res.MaskedName, err)
	res, err = g.Process(context.Background(), "in-1", []byte("HCN1:garbage"))
	fmt.Println(res.Passage.Decision, res.Passage.Reasons, err)
	// Output:
	// admit 1 Zhang * <nil>
	// deny [bad-encoding] <nil>
}

func ExamplePolicyEngine() {
	e, err := policy.New(nil, siteconfig.Pharmacy) // the site type's default rules
	if err != nil {
		panic(err)
	}
	p := gate.PolicyEngine(e, 0, "PH-0001")
	in := &gate.Input{Rejection: credential.ReasonBadSignature, ClockTrusted: true, Enrolled: true}
	fmt.Println(p.Decide(in).Reasons) // no bundles yet: the guard decides

	in.Bundles = map[trust.Kind]trust.Freshness{}
	for _, k := range trust.Kinds() {
		in.Bundles[k] = trust.FreshnessFresh
	}
	d := p.Decide(in)
	fmt.Println(d.Verdict, d.Reasons)
	// Output:
	// [bundle-blocked]
	// deny [verification:bad-signature]
}
