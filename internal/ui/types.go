package ui

import (
	"context"
	"errors"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
)

// Errors of the override. Options.OnOverride wraps ErrWrongPIN,
// ErrLocked, ErrNothingToOverride or ErrOverrideReason (fmt.Errorf("%w:
// %w", ui.ErrWrongPIN, err)) so that the page tells the guard what
// happened; any other error is shown as "not recorded".
var (
	// ErrWrongPIN: the PIN matches no guard. Counted towards the lockout.
	ErrWrongPIN = errors.New("ui: wrong PIN")
	// ErrLocked: too many wrong PINs; overrides wait. When the error also
	// has a method RetryAfter() time.Duration, the page says how long.
	ErrLocked = errors.New("ui: too many wrong PINs: wait before the next override")
	// ErrNothingToOverride: the lane's last person was admitted, or it was
	// too long ago.
	ErrNothingToOverride = errors.New("ui: nothing to override at this lane")
	// ErrNotOverridable: the code is forged, altered, revoked or a
	// screenshot; no override admits it.
	ErrNotOverridable = errors.New("ui: this refusal cannot be overridden")
	// ErrEmergencyOnly: the refusal can be overridden for an emergency
	// only.
	ErrEmergencyOnly = errors.New("ui: only an emergency can override this refusal")
	// ErrOverrideReason: the reason is not on the list.
	ErrOverrideReason = errors.New("ui: choose a reason from the list")
	// ErrUnknownLane: the terminal has no lane of that name (404).
	ErrUnknownLane = errors.New("ui: no such lane on this terminal")
	// ErrNoGuards: the terminal has no guard PINs yet (its site settings
	// name no guard); no PIN can be right.
	ErrNoGuards = errors.New("ui: this terminal has no guard PINs yet")
	// ErrNoOverride: the display was built without Options.OnOverride.
	ErrNoOverride = errors.New("ui: overrides are not available on this terminal")
)

// Shown is one passage or event at a lane as the display shows it: the
// gate's verdict with what the guard needs to read it.
type Shown struct {
	// Lane names the lane; a lane not in Options.Lanes is added.
	Lane string
	// Verdict is the gate's: admit (the gate opened), deny (it stayed
	// shut) or refer (it stayed shut and the guard must look).
	Verdict passage.Verdict
	// Colour is the code's (or the status list's) colour; ColourNone when
	// no code was verified.
	Colour credential.Colour
	// MaskedName is the masked display name ("Zhang *"); never a full
	// name.
	MaskedName string
	// Temperature is the temperature taken; the page shows its State and,
	// for passage.TempOK, its Value.
	Temperature passage.Temperature
	// Fever marks a reading at or above the site's fever threshold (policy
	// decides; the display only shows it).
	Fever bool
	// Reasons are the reason codes, most important first.
	Reasons []string
	// Message is the first reason in words by language ("en", "zh"). When
	// the display's language is missing the page falls back to English,
	// then to the verifier's sentence for a credential.Reason code, then
	// to the code itself.
	Message map[string]string
	// Manual: the passage could not be recorded; the guard must switch to
	// the manual procedure. The banner stays until a later passage is
	// recorded.
	Manual bool
	// OverrideReason is set when a guard admitted the person: the reason
	// code chosen on the pad.
	OverrideReason string
	// OverrideReasons are the reasons a guard may give to override this
	// refusal or referral while it is on screen (the gate decides which);
	// none: the page offers no override and says why.
	OverrideReasons []string
	// At is when the passage happened; zero means Options.Now().
	At time.Time
	// Ref is the passage reference of a refusal or referral
	// (passage.Ref's form), shown under the reason with a small QR code
	// of it that the holder may photograph for an appeal; empty shows
	// none.
	Ref string
}

// DeviceState is the state of one device of a lane.
type DeviceState string

// Device states. The zero value is unknown.
const (
	DeviceUnknown DeviceState = ""
	DeviceOK      DeviceState = "ok"
	DeviceFault   DeviceState = "fault"
	DeviceAbsent  DeviceState = "none" // the lane has no such device
)

// LaneStatus is the state of a lane's devices.
type LaneStatus struct {
	Name        string
	Scanner     DeviceState
	Camera      DeviceState
	Thermometer DeviceState
}

// Bundle is the freshness of the terminal's bundle of one kind.
type Bundle struct {
	Kind      trust.Kind
	Freshness trust.Freshness
	Version   uint64
	// NoValueSets: a trust bundle without the EU value sets, so the codes
	// of EU certificates are not checked against them; the bundle line
	// says so.
	NoValueSets bool
	// EUCountry, EURules and EURulesValid: a policy bundle that holds EU
	// DCCs to a country's business rules, how many rules it carries and
	// how many are valid now; the bundle line shows them.
	EUCountry    string
	EURules      int
	EURulesValid int
}

// Status is the terminal's state around the passages. SetStatus replaces
// it whole.
type Status struct {
	Lanes   []LaneStatus
	Bundles []Bundle
	// Online says whether the last exchange of every kind with the centre
	// (upload, each download) succeeded; SyncFailing that the centre
	// answers but refuses some; LastSync is when an exchange last
	// succeeded (zero: never).
	Online      bool
	SyncFailing bool
	LastSync    time.Time
	// NotEnrolled: the terminal holds no pinned root yet; every person is
	// checked by hand.
	NotEnrolled bool
	// NoKeys: the terminal is enrolled but holds no trust bundle yet (the
	// centre published none, or sync has not brought it); every person is
	// checked by hand.
	NoKeys bool
	// EnrolNote says how an enrolment from a scanned ticket goes (or why
	// it failed); empty when none.
	EnrolNote string
	// Manual: the journal cannot commit; the guard must switch to the
	// manual procedure.
	Manual bool
	// ClockUntrusted: the terminal's clock cannot be trusted.
	ClockUntrusted bool
	// ClockReason says why, as an internal/clock code (clock.State.Code):
	// the display shows it in words after "CLOCK NOT SET".
	ClockReason string
	// Revoked, when not empty, is the centre's word that it revoked this
	// terminal: it was removed from service, and the guard checks every
	// person by hand and calls the office.
	Revoked string
	// JournalReplaced: the passage journal was found damaged at start
	// and replaced by a new one; the passages still readable in it are
	// being sent to the centre. The lanes work; the guard tells the
	// supervisor.
	JournalReplaced bool
	// OverridesLockedUntil, when after now, is when overrides can be
	// tried again after too many wrong PINs; the top bar says so.
	OverridesLockedUntil time.Time
}

// Override is a guard's override request from the page.
type Override struct {
	Lane   string
	PIN    string
	Reason string // a code from Options.OverrideReasons
}

// Counts are the day's passages, in the site's time zone.
type Counts struct {
	Admitted  uint64 `json:"admitted"`
	Refused   uint64 `json:"refused"`
	Referred  uint64 `json:"referred"`
	Overrides uint64 `json:"overrides"`
}

// OverrideFunc checks an override and journals it; see the errors above.
type OverrideFunc func(ctx context.Context, o Override) error
