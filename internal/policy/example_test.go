package policy_test

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

func ExampleNew() {
	// A terminal at a pharmacy with no policy bundle yet runs the default.
	e, err := policy.New(nil, siteconfig.Pharmacy)
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	fresh := map[trust.Kind]trust.Freshness{}
	for _, k := range trust.Kinds() {
		fresh[k] = trust.FreshnessFresh
	}
	in := policy.Input{
		Credential: &credential.Credential{
			Format: credential.FormatNative, Issuer: "ZJ",
			Holder:   credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: 42},
			Colour:   credential.ColourYellow,
			IssuedAt: now.Add(-time.Hour), Expires: now.Add(23 * time.Hour),
		},
		Temperature:  passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 36*physic.Celsius},
		ClockTrusted: true, Bundles: fresh, Enrolled: true, Now: now,
	}
	d := e.Decide(in)
	fmt.Println(d.Verdict, d.Reasons, d.Rule, d.Colour)
	fmt.Println(policy.Message(d.Reasons[0], "zh"))
	// Output:
	// refer [colour-yellow] colour-yellow yellow
	// 黄码。
}

func ExampleCompile() {
	b, err := policy.DefaultBundle(siteconfig.Supermarket)
	if err != nil {
		panic(err)
	}
	b.Version = "2026-11-29.1"
	b.Rules = `rule fever
  when temperature.available &&
       temperature.celsius >= settings.fevr
  refer fever

default refer no-rule-matched
`
	payload, err := b.Marshal()
	if err != nil {
		panic(err)
	}
	fmt.Println(policy.Compile(payload))
	// Output:
	// policy line 3, column 39, rule fever (when): undefined field 'fevr'
}

func ExampleDefaultBundle() {
	// The centre starts a compound's policy bundle from the default and
	// adds the residents.
	b, err := policy.DefaultBundle(siteconfig.Compound)
	if err != nil {
		panic(err)
	}
	b.Version = "2026-11-29.1"
	b.Residents = []string{"ZJ:1001", "ZJ:1002"}
	payload, err := b.Marshal()
	if err != nil {
		panic(err)
	}
	if err := policy.Compile(payload); err != nil {
		panic(err)
	}
	got, err := policy.ParseBundle(payload)
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Site, got.Version, got.Fever, got.Yellow, got.Residents)
	// Output:
	// compound 2026-11-29.1 37.300°C deny [ZJ:1001 ZJ:1002]
}
