package policy

import (
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
)

// Status is the status list's word on a credential's holder. The gate's
// status lookup returns it and hands it to policy as it is.
type Status struct {
	// Overridden is set when an entry overrides the code: its effective
	// time is after the code's issued-at, or the credential is revoked.
	// Decide also checks this itself (Effective after the credential's
	// IssuedAt, Until not passed), so a stale result cannot override a
	// fresher code.
	Overridden bool
	// Status is "green", "yellow", "red" or "withheld" when Overridden.
	Status string
	// Effective and Until bound the entry; a zero Until is open.
	Effective time.Time
	Until     time.Time
	// Reason is the centre's reason code (one byte).
	Reason byte
	// Revoked is set for a credential on a revocation list (EU DCC
	// certificate identifiers).
	Revoked bool
}

// Colour returns the colour the entry gives, or ColourNone when no entry
// overrides the code or its status is not a colour (withheld).
func (s Status) Colour() credential.Colour {
	if !s.Overridden {
		return credential.ColourNone
	}
	c, err := credential.ParseColour(s.Status)
	if err != nil {
		return credential.ColourNone
	}
	return c
}

// Input is everything a policy decides on.
type Input struct {
	// Credential is the verified code; nil when it was refused.
	Credential *credential.Credential
	// Rejection is the verifier's reason when Credential is nil.
	Rejection credential.Reason
	// Status is the status list's word on the credential.
	Status Status
	// Temperature is the reading taken at the lane.
	Temperature passage.Temperature
	// ClockTrusted says whether Now can be trusted.
	ClockTrusted bool
	// Bundles is the freshness of each kind of bundle at Now. A kind that
	// is missing is blocked.
	Bundles map[trust.Kind]trust.Freshness
	// Enrolled is false on a terminal that holds no pinned root yet.
	Enrolled bool
	// SiteID names the site (rules see site.id).
	SiteID string
	// Now is the terminal's time.
	Now time.Time
}

// Decision is a policy's answer.
type Decision struct {
	Verdict passage.Verdict
	// Reasons are stable reason codes, most important first; an admit
	// usually has none. See Message.
	Reasons []string
	// Rule is the name of the rule that decided ("default" for the final
	// default).
	Rule string
	// Colour is what the display shows: the status list's colour when an
	// entry overrides the code, else the code's, unless the rule names one
	// (an EU DCC or SHC that policy admits shows green).
	Colour credential.Colour
	// Err says what failed when a rule failed at run time (the reason is
	// then ReasonPolicyError), for the terminal's log; nil otherwise.
	Err error
	// Refusal is the failed EU business rule when the first reason is
	// ReasonBusinessRule: its Message names the rule and gives its
	// description in the guard's language. Nil otherwise.
	Refusal *credential.Rejection
}
