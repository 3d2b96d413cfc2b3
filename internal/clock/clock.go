package clock

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Sources of trusted time, as Now and State name them.
const (
	SourceNTP     = "ntp"     // the kernel says NTP (or PTP, chrony…) keeps the clock synchronised
	SourceCentral = "central" // the central system's signed time, carried forward on the monotonic clock
	SourceRTC     = "rtc"     // a battery-backed RTC set the clock at boot
	SourceNone    = "none"    // no source the terminal trusts
)

// Codes of an untrusted clock, as State.Code gives them: what the guard
// display and selftest say, in the site's language. The first three are
// also what SignedTimeUnavailable takes.
const (
	// CodeCentralNoTime: the central system answered that it does not
	// sign its time (its serve runs without a signing key or --no-time).
	CodeCentralNoTime = "central-no-time"
	// CodeCentralUnreachable: the central system did not answer.
	CodeCentralUnreachable = "central-unreachable"
	// CodeCentralInvalid: the central system's time did not verify
	// against the pinned root.
	CodeCentralInvalid = "central-time-invalid"
	// CodeCentralOld: the last signed time is too old to carry forward.
	CodeCentralOld = "central-time-old"
	// CodeWaiting: no signed time has arrived yet, nor has any failure.
	CodeWaiting = "waiting-for-central"
	// CodeNTPDisagrees: NTP and the central system's time disagree.
	CodeNTPDisagrees = "ntp-disagrees"
)

// floorDate is the compiled-in earliest time the clock may show: no
// terminal runs a binary before it was written.
var floorDate = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Defaults for Options.
const (
	DefaultMaxError = 30 * time.Second
	// DefaultDrift is the worst drift of an unsynchronised quartz clock,
	// in parts per million: the error of carried-forward central time
	// grows by this much.
	DefaultDrift = 200
	// MaxRTT bounds the round trip of a signed time: beyond it the time
	// says too little to be worth keeping.
	MaxRTT = 10 * time.Second
)

// Options configure a Monitor.
type Options struct {
	// Floor overrides the earliest plausible time (zero: DefaultFloor).
	Floor time.Time
	// MaxError is the largest error the clock may have and be trusted.
	// Zero means DefaultMaxError.
	MaxError time.Duration
	// BatteryRTC says the board has a battery-backed real-time clock:
	// when the kernel set the system clock from it at boot, the clock is
	// trusted even without NTP.
	BatteryRTC bool
	// DriftPPM is the clock's worst drift in parts per million (zero:
	// DefaultDrift).
	DriftPPM int
}

// ntpStatus is what adjtimex(2) says about the kernel clock.
type ntpStatus struct {
	unsync   bool          // STA_UNSYNC: nothing disciplines the clock
	maxError time.Duration // the kernel's bound on the clock's error
}

// Monitor decides whether the terminal's clock can be trusted. Its methods
// are safe for concurrent use.
type Monitor struct {
	floor    time.Time
	maxError time.Duration
	rtc      bool
	drift    float64 // fraction

	// OS and time access, replaced by tests.
	now       func() time.Time
	adjtimex  func() (ntpStatus, error)
	rtcSynced func() bool

	mu      sync.Mutex
	ntpAt   time.Time // when ntp was last read (monotonic)
	ntp     ntpStatus
	ntpErr  error
	signed  bool
	sigMono time.Time     // local reading (monotonic) when the signed time arrived
	sigTime time.Time     // the signed time estimated at sigMono
	sigErr  time.Duration // its error at sigMono (half the round trip)
	// failCode and failWhy: why the last attempt brought no signed time;
	// empty after one arrived.
	failCode, failWhy string
}

// New returns a Monitor reading the kernel's clock status.
func New(opts Options) *Monitor {
	m := &Monitor{
		floor:     opts.Floor,
		maxError:  opts.MaxError,
		rtc:       opts.BatteryRTC,
		drift:     float64(opts.DriftPPM) / 1e6,
		now:       time.Now,
		adjtimex:  sysAdjtimex,
		rtcSynced: sysRTCSynced,
	}
	if m.floor.IsZero() {
		m.floor = DefaultFloor()
	}
	if m.maxError <= 0 {
		m.maxError = DefaultMaxError
	}
	if opts.DriftPPM <= 0 {
		m.drift = DefaultDrift / 1e6
	}
	return m
}

// DefaultFloor returns the earliest time a trusted clock may show: a date
// compiled into the package, raised to the binary's VCS commit time when
// the build recorded one.
func DefaultFloor() time.Time {
	f := floorDate
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil && t.After(f) {
					f = t
				}
			}
		}
	}
	return f
}

// State is the clock's trust for policy and the guard display.
type State struct {
	Trusted bool
	// Source is SourceNTP, SourceCentral, SourceRTC or SourceNone.
	Source string
	// MaxError is the bound on the clock's error, when the source gives
	// one.
	MaxError time.Duration
	// Reason says why the clock is not trusted, in words for the guard.
	Reason string
	// Code is the reason as one of the Code constants (empty when
	// trusted): the part of it that the guard or the installer can act
	// on.
	Code string
}

// String describes the state for the display, e.g. "trusted (ntp, ±12ms)"
// or "untrusted: the clock is before 2026-11-01 (the board lost its time)".
func (s State) String() string {
	if !s.Trusted {
		return "untrusted: " + s.Reason
	}
	if s.MaxError > 0 {
		return fmt.Sprintf("trusted (%s, ±%v)", s.Source, s.MaxError.Round(time.Millisecond))
	}
	return fmt.Sprintf("trusted (%s)", s.Source)
}

// Now returns the time, whether it can be trusted, and its source. An
// untrusted time must not accept or refuse a code.
func (m *Monitor) Now() (t time.Time, trusted bool, source string) {
	t, s := m.read()
	return t, s.Trusted, s.Source
}

// State returns the clock's trust now.
func (m *Monitor) State() State {
	_, s := m.read()
	return s
}

func (m *Monitor) read() (time.Time, State) {
	sys := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	// The kernel's status, read at most once a second.
	if m.ntpAt.IsZero() || sys.Sub(m.ntpAt) >= time.Second || sys.Before(m.ntpAt) {
		m.ntp, m.ntpErr = m.adjtimex()
		m.ntpAt = sys
	}
	var central time.Time
	var centralErr time.Duration
	if m.signed {
		age := sys.Sub(m.sigMono)
		if age >= 0 {
			central = m.sigTime.Add(age)
			centralErr = m.sigErr + time.Duration(float64(age)*m.drift)
		}
	}
	centralOK := !central.IsZero() && centralErr <= m.maxError
	wall := sys.Round(0) // the wall clock, without the monotonic reading

	var reasons []string
	if wall.Before(m.floor) {
		reasons = append(reasons, fmt.Sprintf("the system clock shows %s, before %s (the board lost its time)", wall.UTC().Format(time.DateOnly), m.floor.UTC().Format(time.DateOnly)))
	} else {
		switch {
		case m.ntpErr != nil:
			reasons = append(reasons, "cannot read the clock's synchronisation: "+m.ntpErr.Error())
		case m.ntp.unsync:
			reasons = append(reasons, "NTP is not synchronised")
		case m.ntp.maxError > m.maxError:
			reasons = append(reasons, fmt.Sprintf("NTP error bound %v exceeds %v", m.ntp.maxError, m.maxError))
		default:
			if centralOK && absDur(wall.Sub(central)) > m.maxError+centralErr {
				// Synchronised to something that disagrees with the
				// centre's signed time: trust neither the NTP server nor
				// the system clock.
				return wall, State{Source: SourceNone, Code: CodeNTPDisagrees, Reason: fmt.Sprintf("NTP time differs from the central system's signed time by %v", wall.Sub(central).Round(time.Second))}
			}
			return wall, State{Trusted: true, Source: SourceNTP, MaxError: m.ntp.maxError}
		}
	}
	if centralOK {
		return central, State{Trusted: true, Source: SourceCentral, MaxError: centralErr}
	}
	code := CodeWaiting
	switch {
	case m.failCode != "":
		code = m.failCode
		reasons = append(reasons, m.failWhy)
	case !central.IsZero():
		code = CodeCentralOld
		reasons = append(reasons, fmt.Sprintf("the central system's signed time is too old (error up to %v)", centralErr.Round(time.Second)))
	default:
		reasons = append(reasons, "no signed time from the central system yet")
	}
	if m.rtc && !wall.Before(m.floor) {
		if m.rtcSynced() {
			return wall, State{Trusted: true, Source: SourceRTC}
		}
		reasons = append(reasons, "the battery clock did not set the time at boot")
	}
	return wall, State{Source: SourceNone, Reason: strings.Join(reasons, "; "), Code: code}
}

// SignedTimeUnavailable records why the last attempt to get the central
// system's signed time failed: code is CodeCentralNoTime,
// CodeCentralUnreachable or CodeCentralInvalid, why the words for the
// logs and selftest. It changes no trust: a signed time still carried
// forward stays good; the next ObserveSignedTime clears it.
func (m *Monitor) SignedTimeUnavailable(code, why string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failCode, m.failWhy = code, why
}

// ObserveSignedTime records the central system's signed time t, received
// over a request that took rtt: the caller has verified the signature (a
// status delta's or sync response's issued-at, signed for this exchange;
// never an old bundle's), and t was signed between sending and receiving.
// The Monitor keeps it on the monotonic clock. A time before the floor, or
// a negative or too long rtt, is ignored.
func (m *Monitor) ObserveSignedTime(t time.Time, rtt time.Duration) {
	if rtt < 0 || rtt > MaxRTT || t.Before(m.floor) {
		return
	}
	sys := m.now()
	// t was signed some time within the round trip: its midpoint errs by
	// at most rtt/2; one second more for the signed time's resolution.
	est := t.Add(rtt / 2)
	errBound := rtt/2 + time.Second
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failCode, m.failWhy = "", ""
	if m.signed {
		// Keep the observation that bounds the time better now.
		age := sys.Sub(m.sigMono)
		if cur := m.sigErr + time.Duration(float64(age)*m.drift); age >= 0 && cur < errBound {
			return
		}
	}
	m.signed, m.sigMono, m.sigTime, m.sigErr = true, sys, est, errBound
}

// Offset returns how far the system clock is ahead of the central
// system's signed time carried forward (negative: behind), with the bound
// on that estimate's error; ok is false before any signed time arrived.
// It is what monitoring graphs: the clock's trust says whether it is good
// enough, the offset how far it drifts.
func (m *Monitor) Offset() (offset, errBound time.Duration, ok bool) {
	sys := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.signed {
		return 0, 0, false
	}
	age := sys.Sub(m.sigMono)
	if age < 0 {
		return 0, 0, false
	}
	central := m.sigTime.Add(age)
	return sys.Round(0).Sub(central), m.sigErr + time.Duration(float64(age)*m.drift), true
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// sysRTCSynced reports whether the kernel set the system clock from the
// RTC at boot (CONFIG_RTC_HCTOSYS).
func sysRTCSynced() bool {
	b, err := os.ReadFile("/sys/class/rtc/rtc0/hctosys")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}
