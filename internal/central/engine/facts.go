package engine

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/internal/status"
)

// Kind is the kind of a fact (CONTRACTS.md, "Colour rules").
type Kind string

// Kinds of facts, as rules see them in f.kind.
const (
	// KindConfirmed: the holder is a confirmed case (by ops, or imported).
	KindConfirmed Kind = "confirmed"
	// KindContact: the holder was a close contact of a confirmed case:
	// Value names the case, Site where they met (derived by Contacts).
	KindContact Kind = "contact"
	// KindFever: a fever recorded at a checkpoint, with its reading in
	// Temperature and the checkpoint's Site.
	KindFever Kind = "fever"
	// KindVisit: a passage at Site; its area's risk level at that time
	// is looked up when rules run (f.risk), so that an area graded high
	// after the visit counts.
	KindVisit Kind = "visit"
	// KindHome: the holder's home area (Area). The latest one at or
	// before the evaluation time is the holder's home; it picks the rule
	// set.
	KindHome Kind = "home"
	// KindTestNegative: a negative test taken at At.
	KindTestNegative Kind = "test-negative"
	// KindWhitelist: the holder is on a list of essential workers for
	// Area (a region, district or compound) or Site; Value names the list.
	KindWhitelist Kind = "whitelist"
	// KindManual: a status decided by ops: Value is green, yellow, red or
	// withheld, in force from At until Until (open when zero). The latest
	// manual fact in force decides before any rule.
	KindManual Kind = "manual"
)

var kinds = []Kind{KindConfirmed, KindContact, KindFever, KindVisit, KindHome, KindTestNegative, KindWhitelist, KindManual}

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool {
	for _, v := range kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Fact is one thing the centre knows about a holder, with when it happened
// and where the centre learnt it.
type Fact struct {
	Holder string // "ISSUER:INDEX" or "p:HEX", never a name
	Kind   Kind
	At     time.Time // when it happened (not when the centre learnt it)
	// Area is the area id the fact concerns; for a fact at a Site it may
	// be left empty and is then the site's area.
	Area string
	Site string
	// Value is kind-specific: the case's holder for a contact, the list
	// for a whitelist membership, the status for a manual fact, the lab or
	// the note for others.
	Value string
	// Temperature is a fever's reading; zero for other kinds.
	Temperature physic.Temperature
	// Until ends a whitelist membership or a manual status; zero is open.
	Until time.Time
	// Source says where the fact came from: "ops:NAME", "import:FILE:LINE",
	// "passage:DEVICE/EPOCH/SEQ", "derived:contact:…".
	Source string
}

// Celsius returns the fever's reading in °C.
func (f *Fact) Celsius() float64 {
	return f.Temperature.Celsius()
}

// Validate checks a fact before it is stored or evaluated.
func (f *Fact) Validate() error {
	switch {
	case f.Holder == "":
		return fmt.Errorf("fact: no holder")
	case !f.Kind.Valid():
		return fmt.Errorf("fact: kind %q: want one of confirmed, contact, fever, visit, home, test-negative, whitelist, manual", f.Kind)
	case f.At.IsZero():
		return fmt.Errorf("fact %s of %s: no time", f.Kind, f.Holder)
	case !f.Until.IsZero() && !f.Until.After(f.At):
		return fmt.Errorf("fact %s of %s: until %s is not after %s", f.Kind, f.Holder, f.Until.UTC().Format(time.RFC3339), f.At.UTC().Format(time.RFC3339))
	}
	switch f.Kind {
	case KindHome:
		if f.Area == "" {
			return fmt.Errorf("fact home of %s: no area", f.Holder)
		}
	case KindVisit, KindFever:
		if f.Site == "" && f.Area == "" {
			return fmt.Errorf("fact %s of %s: no site or area", f.Kind, f.Holder)
		}
	case KindWhitelist:
		if f.Site == "" && f.Area == "" {
			return fmt.Errorf("fact whitelist of %s: no area or site the list is for", f.Holder)
		}
	case KindManual:
		if _, err := status.ParseStatus(f.Value); err != nil {
			return fmt.Errorf("fact manual of %s: status %q: want green, yellow, red or withheld", f.Holder, f.Value)
		}
	}
	return nil
}
