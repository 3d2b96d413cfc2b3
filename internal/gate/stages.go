package gate

import (
	"context"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/crypto/verify"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
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
	Lookup(c *credential.Credential, now time.Time) policy.Status
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

// Input is everything policy decides on.
type Input struct {
	// Credential is the verified code; nil when it was refused.
	Credential *credential.Credential
	// Rejection is the verifier's reason when Credential is nil.
	Rejection credential.Reason
	// Status is the status list's word on the credential.
	Status policy.Status
	// Temperature is the reading taken at the lane.
	Temperature passage.Temperature
	// ClockTrusted says whether Now can be trusted.
	ClockTrusted bool
	// Bundles is the freshness of each kind of bundle at Now. The gate
	// shares one map between passages while it holds: read it, do not
	// change it.
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
	// Refusal is policy's own refusal of a verified code that names what
	// failed (an EU business rule and its description), shown to the
	// guard when it is the first reason; nil otherwise.
	Refusal *credential.Rejection
	// Resident is set when the holder is on the site's access list (the
	// residents of a compound, from its policy bundle).
	Resident bool
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
	Override *journal.Override
	// OverrideReasons are the reasons a guard may give to override this
	// passage while it is on screen (see Gate.Override); empty when it
	// cannot be overridden.
	OverrideReasons []string
	At              time.Time
	// Seq is the passage's record in the journal (with At, what the
	// display derives the holder's passage reference from); 0 when the
	// journal did not commit it.
	Seq journal.Seq
}
