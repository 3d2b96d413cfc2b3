package journal

import (
	"fmt"
	"time"
	"unicode/utf8"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
)

// Limits on a passage's fields, so that a record stays small.
const (
	MaxTextLen  = 256 // lane, issuer, status colour, reason code, bundle kind, override who/why
	MaxKeyIDLen = 64
	MaxReasons  = 32
	MaxBundles  = 16
)

// Passage is one person at one lane and what the gate decided: the plain
// fields that Append seals and encodes. It never holds a name (not even
// the masked display name) nor a national ID number.
type Passage struct {
	// Time is when the gate decided, from the terminal's clock.
	Time time.Time
	// ClockTrusted says whether that clock could be trusted.
	ClockTrusted bool
	// Lane is the lane's name from the configuration, e.g. "in-1".
	Lane string
	// Format, Issuer and KeyID identify the credential's kind and signer;
	// empty when no code verified.
	Format credential.Format
	Issuer string
	KeyID  []byte
	// Holder identifies the person; sealed in the record.
	Holder credential.Holder
	// CodeColour is the colour the code carried; StatusColour the colour
	// from the status list ("green", "yellow", "red", "withheld", or empty
	// when no entry applied).
	CodeColour   credential.Colour
	StatusColour string
	// Temperature is the reading taken at the lane; sealed in the record.
	// The journal keeps a reading (State passage.TempOK) with its value,
	// ambient and confidence (to 0.001); of any other state only that no
	// reading was taken.
	Temperature passage.Temperature
	// Decision and Reasons (stable reason codes) are the verdict.
	Decision passage.Verdict
	Reasons  []string
	// PolicyVersion is the version of the policy bundle that decided;
	// Bundles the version of every bundle in force, by kind.
	PolicyVersion uint64
	Bundles       map[string]uint64
	// Override is set when a guard overrode the verdict.
	Override *Override
}

// Override is a guard's override of the verdict: a record of its own
// that names the refused or referred passage it admits.
type Override struct {
	Who string `json:"who"` // the guard's badge or login, never the person's name
	Why string `json:"why"` // the reason code chosen from the list
	// Of is the sequence number of the overridden passage, in the same
	// epoch. Records of version 1 (written before it existed) read 0.
	Of Seq `json:"of,omitempty"`
}

// validate checks a passage against the journal's limits.
func (p *Passage) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidPassage, fmt.Sprintf(format, args...))
	}
	if p.Time.IsZero() {
		return bad("no time")
	}
	if !p.Decision.Valid() {
		return bad("decision %q is not admit, deny or refer", p.Decision)
	}
	// Checked one by one rather than gathered into a list: validate runs
	// for every passage, and garbage it makes is collected while lanes wait.
	badText := func(v string) bool { return len(v) > MaxTextLen || !utf8.ValidString(v) }
	badName := ""
	switch {
	case badText(p.Lane):
		badName = "lane"
	case badText(string(p.Format)):
		badName = "format"
	case badText(p.Issuer):
		badName = "issuer"
	case badText(p.StatusColour):
		badName = "status colour"
	case badText(p.Holder.Issuer):
		badName = "holder issuer"
	case p.Override != nil && badText(p.Override.Who):
		badName = "override who"
	case p.Override != nil && badText(p.Override.Why):
		badName = "override why"
	}
	for _, r := range p.Reasons {
		if badName == "" && badText(r) {
			badName = "reason"
		}
	}
	for k := range p.Bundles {
		if badName == "" && badText(k) {
			badName = "bundle kind"
		}
	}
	if badName != "" {
		return bad("%s is not valid UTF-8 of at most %d bytes", badName, MaxTextLen)
	}
	if p.Lane == "" {
		return bad("no lane")
	}
	if len(p.KeyID) > MaxKeyIDLen {
		return bad("key id of %d bytes, at most %d", len(p.KeyID), MaxKeyIDLen)
	}
	if len(p.Reasons) > MaxReasons {
		return bad("%d reasons, at most %d", len(p.Reasons), MaxReasons)
	}
	if len(p.Bundles) > MaxBundles {
		return bad("%d bundle versions, at most %d", len(p.Bundles), MaxBundles)
	}
	if c := p.Temperature.Confidence; p.Temperature.Available() && (c < 0 || c > 1 || c != c) {
		return bad("temperature confidence %v outside 0..1", c)
	}
	return nil
}
