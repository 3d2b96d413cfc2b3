package status_test

import (
	"fmt"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/status"
)

func ExampleNew() {
	// At the centre: a base with one red holder.
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	b := status.NewBuilder()
	if err := b.SetNative("ZJ", 1234, status.Entry{Status: status.Red, Effective: at, Until: at.Add(14 * 24 * time.Hour), Reason: 4}); err != nil {
		fmt.Println(err)
		return
	}
	payload, err := b.MarshalBase()
	if err != nil {
		fmt.Println(err)
		return
	}
	// On the terminal, the bundle comes from trust.OpenBundle.
	l, err := status.New(status.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := l.ApplyBase(&trust.Bundle{Kind: trust.KindStatusBase, Version: 1, Payload: payload}); err != nil {
		fmt.Println(err)
		return
	}
	h := credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: 1234}
	now := at.Add(time.Hour)
	fmt.Println(l.Lookup(h, at.Add(-time.Hour), now).Status) // a code from before the change
	fmt.Println(l.Lookup(h, at.Add(time.Minute), now).Overridden)
	// Output:
	// red
	// false
}

func ExampleNewBuilder() {
	at := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	b := status.NewBuilder()
	if err := b.SetNative("ZJ", 1234, status.Entry{Status: status.Green, Effective: at}); err != nil {
		fmt.Println(err)
		return
	}
	b.Revoke("URN:UVCI:01:DE:187/37512422923")
	payload, err := b.MarshalDelta()
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := status.ParseDelta(payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", p.Counts())
	// Output:
	// {Native:1 Pseudonyms:0 Revoked:1 RemoveNative:0 RemovePseudonyms:0 Unrevoke:0}
}
