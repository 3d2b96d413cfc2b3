package enrol_test

import (
	"fmt"
	"time"

	"sentinel/internal/central/enrol"
)

func ExampleNewToken() {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	value, tok, err := enrol.NewToken("north-gate", now, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(value), tok.Site, tok.Expires.Format(time.RFC3339), tok.Hash == enrol.HashToken(value))
	// Output: 26 north-gate 2026-11-30T08:00:00Z true
}

func ExampleNewCA() {
	ca, err := enrol.NewCA("Sentinel device CA", time.Now())
	if err != nil {
		panic(err)
	}
	fmt.Println(ca.Cert.IsCA, ca.Cert.Subject.CommonName)
	// Output: true Sentinel device CA
}
