package gate

import (
	"context"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/crypto/verify"
	"sentinel/internal/passage"
	"sentinel/internal/replay"
	"sentinel/sync/journal"
)

// Verifier turns a payload into a verified credential or a
// *credential.Rejection. *verify.Verifier is one.
type Verifier interface {
	Verify(payload []byte, opts verify.Options) (*credential.Credential, error)
}

// StatusLookup says whether the terminal's status list holds an entry that
// overrides a verified credential (a change of colour since the code was
// issued, or a revocation).
type StatusLookup interface {
	Lookup(c *credential.Credential, now time.Time) StatusResult
}

// Thermometer measures the person standing at the lane, in the gate's
// words: internal/hardware/gatedev adapts a thermo.Sampler to it.
type Thermometer interface {
	// Measure returns the temperature taken: State TempOK with the value;
	// TempUnavailable with the sensor's fault in Fault; or TempRetake
	// with FaultNoPerson, FaultUnstable or FaultCancelled in Fault. Any
	// other State counts as TempUnavailable with FaultError.
	Measure(ctx context.Context) passage.Temperature
}

// Policy decides a passage from everything the pipeline learnt.
type Policy interface {
	Decide(in *Input) Decision
}

// Journal writes a passage durably, in the journal's own form: the gate
// builds the journal's passage itself, so that nothing between them
// translates. *journal.Journal is one. Append returns only once the
// passage is committed (fsync'd); an error means it is not, and the gate
// stays shut.
type Journal interface {
	Append(ctx context.Context, p *journal.Passage) (journal.Seq, error)
}

// Outputs are a lane's relay, light tower and buzzer. *signal.Outputs is
// one. Admit pulses the relay; it is called only after the journal commit.
type Outputs interface {
	Admit() error
	Refuse() error
	Fault() error
}

// Display shows the guard what happened at a lane. It must not block.
type Display interface {
	Show(s Shown)
}

// ReplayMemory remembers the codes admitted at this terminal.
// *replay.Memory is one. Reserve must be atomic across lanes: it reports
// false when the key is already used at now.
type ReplayMemory interface {
	Used(k replay.Key, now time.Time) bool
	Reserve(k replay.Key, now, until time.Time) bool
	// Release forgets a reservation whose passage was not recorded.
	Release(k replay.Key)
	// Commit makes a reservation survive a restart.
	Commit(k replay.Key) error
}

// Clock is the terminal's time and whether it can be trusted.
type Clock interface {
	Now() (t time.Time, trusted bool)
}

// Compile-time checks of the real implementations.
var (
	_ Verifier     = (*verify.Verifier)(nil)
	_ ReplayMemory = (*replay.Memory)(nil)
	_ Journal      = (*journal.Journal)(nil)
)

// StatusResult is what the status list says about a credential.
type StatusResult struct {
	// Listed is set when an entry overrides the code: its effective time
	// is after the code's issued-at, or the credential is revoked.
	Listed bool `json:"listed"`
	// Status is green, yellow, red or withheld when Listed.
	Status string `json:"status,omitempty"`
	// Effective and Until bound the entry; a zero Until is open.
	Effective time.Time `json:"effective,omitzero"`
	Until     time.Time `json:"until,omitzero"`
	// Reason is the centre's reason code (one byte).
	Reason byte `json:"reason,omitempty"`
	// Revoked is set for a credential on a revocation list (EU DCC
	// certificate identifiers).
	Revoked bool `json:"revoked,omitempty"`
}

// Colour returns the colour the entry gives, or ColourNone.
func (r StatusResult) Colour() credential.Colour {
	if !r.Listed {
		return credential.ColourNone
	}
	c, err := credential.ParseColour(r.Status)
	if err != nil {
		return credential.ColourNone
	}
	return c
}

// Input is everything policy decides on.
type Input struct {
	// Credential is the verified code; nil when it was refused.
	Credential *credential.Credential
	// Rejection is the verifier's reason when Credential is nil.
	Rejection credential.Reason
	// Status is the status list's word on the credential.
	Status StatusResult
	// Temperature is the reading taken at the lane.
	Temperature passage.Temperature
	// ClockTrusted says whether Now can be trusted.
	ClockTrusted bool
	// Bundles is the freshness of each kind of bundle at Now.
	Bundles map[trust.Kind]trust.Freshness
	// Enrolled is false on a terminal with no pinned root or no trust.
	Enrolled bool
	// Site holds the site's settings from the config bundle.
	Site *SiteSettings
	// Lane is the lane's name.
	Lane string
	// Now is the terminal's time.
	Now time.Time
}

// Decision is policy's answer.
type Decision struct {
	Verdict passage.Verdict
	// Reasons are stable reason codes, most important first.
	Reasons []string
	// Colour is the colour shown: the code's, the status list's, or the
	// colour policy gives an EU DCC or SHC.
	Colour credential.Colour
	// PolicyVersion is the version of the policy bundle that decided,
	// 0 for the built-in defaults.
	PolicyVersion uint64
}

// Override records a guard's override in the passage that it creates.
type Override struct {
	Guard  string `json:"guard"`  // the guard's id from the site's settings
	Reason string `json:"reason"` // one of OverrideReasons
	Of     uint64 `json:"of"`     // the sequence number of the overridden passage
}

// Passage is one record for the journal: the plain fields; the journal
// seals the holder and the temperature itself.
type Passage struct {
	Time         time.Time
	ClockTrusted bool
	Lane         string
	Format       credential.Format // empty when the format was not recognised
	Issuer       string
	KeyID        []byte
	Holder       credential.Holder
	CodeColour   credential.Colour
	// StatusColour is the status list's entry that applied: green,
	// yellow, red or withheld; empty when none did.
	StatusColour string
	Temperature  passage.Temperature
	Verdict      passage.Verdict
	Reasons      []string
	// PolicyVersion and BundleVersions say which rules and data decided.
	PolicyVersion  uint64
	BundleVersions map[trust.Kind]uint64
	Override       *Override
}

// Shown is what the guard display shows for one passage or event.
type Shown struct {
	Lane        string
	Verdict     passage.Verdict
	Colour      credential.Colour
	MaskedName  string
	Temperature passage.Temperature
	Reasons     []string
	// Message is the first reason in words, by language ("en", "zh").
	Message map[string]string
	// Manual is set when the guard must switch to the manual procedure
	// (the journal cannot commit).
	Manual bool
	// Override names the guard's override, if this is one.
	Override *Override
	// OverrideReasons are the reasons a guard may give to override this
	// passage while it is on screen (see Gate.Override); empty when it
	// cannot be overridden.
	OverrideReasons []string
	At              time.Time
}
