package clock

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	floor  = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	today  = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	boot70 = time.Unix(42, 0).UTC()
)

// fake is a board: its system clock, kernel NTP status and RTC.
type fake struct {
	sys     time.Time
	ntp     ntpStatus
	ntpErr  error
	rtc     bool
	ntpRead int
}

func (f *fake) monitor(opts Options) *Monitor {
	if opts.Floor.IsZero() {
		opts.Floor = floor
	}
	m := New(opts)
	m.now = func() time.Time { return f.sys }
	m.adjtimex = func() (ntpStatus, error) { f.ntpRead++; return f.ntp, f.ntpErr }
	m.rtcSynced = func() bool { return f.rtc }
	return m
}

var unsync = ntpStatus{unsync: true, maxError: 16 * time.Second}

func TestSources(t *testing.T) {
	tests := []struct {
		name       string
		board      fake
		opts       Options
		wantSource string
		wantReason string // part of it, when untrusted
	}{
		{"boot in 1970", fake{sys: boot70, ntp: unsync}, Options{}, SourceNone, "before 2026-11-01"},
		{"1970 although the kernel claims sync", fake{sys: boot70, ntp: ntpStatus{maxError: time.Millisecond}}, Options{}, SourceNone, "lost its time"},
		{"ntp synchronised", fake{sys: today, ntp: ntpStatus{maxError: 12 * time.Millisecond}}, Options{}, SourceNTP, ""},
		{"ntp error bound too large", fake{sys: today, ntp: ntpStatus{maxError: 40 * time.Second}}, Options{}, SourceNone, "error bound"},
		{"ntp error bound within a looser limit", fake{sys: today, ntp: ntpStatus{maxError: 40 * time.Second}}, Options{MaxError: time.Minute}, SourceNTP, ""},
		{"ntp unsynchronised, no rtc", fake{sys: today, ntp: unsync}, Options{}, SourceNone, "NTP is not synchronised"},
		{"adjtimex fails", fake{sys: today, ntpErr: errors.New("adjtimex: operation not permitted")}, Options{}, SourceNone, "cannot read"},
		{"battery rtc set the clock", fake{sys: today, ntp: unsync, rtc: true}, Options{BatteryRTC: true}, SourceRTC, ""},
		{"rtc did not set the clock", fake{sys: today, ntp: unsync}, Options{BatteryRTC: true}, SourceNone, "battery clock"},
		{"rtc with a flat battery", fake{sys: boot70, ntp: unsync, rtc: true}, Options{BatteryRTC: true}, SourceNone, "lost its time"},
		{"rtc on a board declared without one", fake{sys: today, ntp: unsync, rtc: true}, Options{}, SourceNone, "no signed time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			board := tt.board
			m := board.monitor(tt.opts)
			got, trusted, source := m.Now()
			if source != tt.wantSource || trusted != (tt.wantSource != SourceNone) {
				t.Fatalf("got trusted %v source %q (%v), want source %q", trusted, source, m.State(), tt.wantSource)
			}
			if !got.Equal(board.sys) {
				t.Errorf("got time %v, want the system clock %v", got, board.sys)
			}
			st := m.State()
			if !strings.Contains(st.Reason, tt.wantReason) || (tt.wantReason == "") != st.Trusted {
				t.Errorf("got reason %q, want one containing %q", st.Reason, tt.wantReason)
			}
		})
	}
}

func TestCentralTime(t *testing.T) {
	board := &fake{sys: boot70, ntp: unsync}
	m := board.monitor(Options{})
	if _, trusted, _ := m.Now(); trusted {
		t.Fatal("trusted before any source")
	}
	// A signed time before the floor, or with an absurd round trip, is
	// ignored.
	m.ObserveSignedTime(time.Unix(1000, 0), 100*time.Millisecond)
	m.ObserveSignedTime(today, MaxRTT+time.Second)
	m.ObserveSignedTime(today, -time.Second)
	if _, trusted, _ := m.Now(); trusted {
		t.Fatal("trusted after invalid signed times")
	}
	m.ObserveSignedTime(today, 200*time.Millisecond)
	got, trusted, source := m.Now()
	if !trusted || source != SourceCentral || !got.Equal(today.Add(100*time.Millisecond)) {
		t.Fatalf("got %v %v %q, want %v true central", got, trusted, source, today.Add(100*time.Millisecond))
	}
	// Carried forward on the board's own clock, whatever it shows.
	board.sys = board.sys.Add(time.Hour)
	if got, _, _ := m.Now(); !got.Equal(today.Add(time.Hour + 100*time.Millisecond)) {
		t.Fatalf("an hour on: got %v, want %v", got, today.Add(time.Hour+100*time.Millisecond))
	}
	if st := m.State(); st.MaxError != 1100*time.Millisecond+720*time.Millisecond {
		t.Errorf("an hour on: got error bound %v, want 1.82s (1.1 s + 200 ppm of an hour)", st.MaxError)
	}
	// A worse observation does not replace a better one.
	m.ObserveSignedTime(today.Add(5*time.Hour), 8*time.Second)
	if got, _, _ := m.Now(); !got.Equal(today.Add(time.Hour + 100*time.Millisecond)) {
		t.Fatalf("after a worse observation: got %v", got)
	}
	// The error grows with drift: (30 s - 1.1 s) / 200 ppm ≈ 40.1 h.
	board.sys = boot70.Add(40 * time.Hour)
	if _, trusted, _ := m.Now(); !trusted {
		t.Fatalf("after 40 h: untrusted (%v), want trusted", m.State())
	}
	board.sys = boot70.Add(41 * time.Hour)
	if _, trusted, _ := m.Now(); trusted {
		t.Fatal("after 41 h: trusted, want untrusted: the carried time may be off by more than 30 s")
	}
	if st := m.State(); !strings.Contains(st.Reason, "too old") {
		t.Errorf("got reason %q, want one saying the signed time is too old", st.Reason)
	}
	// A fresh observation restores trust.
	m.ObserveSignedTime(today.Add(41*time.Hour), time.Second)
	if _, trusted, source := m.Now(); !trusted || source != SourceCentral {
		t.Fatalf("after a fresh signed time: got %v %q", trusted, source)
	}
}

func TestNTPDisagreesWithCentre(t *testing.T) {
	board := &fake{sys: today, ntp: ntpStatus{maxError: 5 * time.Millisecond}}
	m := board.monitor(Options{})
	m.ObserveSignedTime(today.Add(-10*time.Second), 0) // within 30 s + 1 s: fine
	if _, trusted, source := m.Now(); !trusted || source != SourceNTP {
		t.Fatalf("agreeing sources: got %v %q, want trusted ntp", trusted, source)
	}
	m = board.monitor(Options{})
	m.ObserveSignedTime(today.Add(-time.Hour), 0)
	if _, trusted, _ := m.Now(); trusted {
		t.Fatal("NTP an hour ahead of the centre's signed time: trusted, want untrusted")
	}
	if st := m.State(); !strings.Contains(st.Reason, "differs") {
		t.Errorf("got reason %q", st.Reason)
	}
}

func TestNTPReadOncePerSecond(t *testing.T) {
	board := &fake{sys: today, ntp: ntpStatus{maxError: time.Millisecond}}
	m := board.monitor(Options{})
	for range 10 {
		m.Now()
	}
	board.sys = board.sys.Add(time.Second)
	m.Now()
	if board.ntpRead != 2 {
		t.Errorf("got %d adjtimex calls, want 2", board.ntpRead)
	}
	board.ntp = unsync // the daemon lost sync: seen within a second
	board.sys = board.sys.Add(time.Second)
	if _, trusted, _ := m.Now(); trusted {
		t.Error("still trusted after NTP lost sync")
	}
}

func TestStateString(t *testing.T) {
	tests := []struct {
		s    State
		want string
	}{
		{State{Trusted: true, Source: SourceNTP, MaxError: 12 * time.Millisecond}, "trusted (ntp, ±12ms)"},
		{State{Trusted: true, Source: SourceRTC}, "trusted (rtc)"},
		{State{Source: SourceNone, Reason: "NTP is not synchronised"}, "untrusted: NTP is not synchronised"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestFloor(t *testing.T) {
	m := New(Options{})
	if m.floor.Before(floorDate) || !m.floor.Equal(DefaultFloor()) {
		t.Errorf("got floor %v, want DefaultFloor %v, at least %v", m.floor, DefaultFloor(), floorDate)
	}
}

// TestWhyUntrusted: a clock without NTP says why the central system's
// time is missing (before, it said only "no signed time yet" whatever the
// centre answered), and a signed time clears the failure.
func TestWhyUntrusted(t *testing.T) {
	board := fake{sys: today, ntp: unsync}
	m := board.monitor(Options{})
	if s := m.State(); s.Code != CodeWaiting {
		t.Errorf("before any attempt: got code %q, want %q", s.Code, CodeWaiting)
	}
	for _, tc := range []struct{ code, why string }{
		{CodeCentralNoTime, "the central system does not sign its time"},
		{CodeCentralUnreachable, "the central system is unreachable"},
		{CodeCentralInvalid, "the central system's time does not verify"},
	} {
		m.SignedTimeUnavailable(tc.code, tc.why)
		s := m.State()
		if s.Trusted || s.Code != tc.code || !strings.Contains(s.Reason, tc.why) || !strings.Contains(s.Reason, "NTP is not synchronised") {
			t.Errorf("got %+v, want untrusted %s saying %q and the NTP state", s, tc.code, tc.why)
		}
	}
	m.ObserveSignedTime(today, 20*time.Millisecond)
	if s := m.State(); !s.Trusted || s.Code != "" {
		t.Errorf("after a signed time: got %+v, want trusted with no code", s)
	}
	// A later failure with the signed time still good keeps the trust.
	m.SignedTimeUnavailable(CodeCentralUnreachable, "the central system is unreachable")
	if s := m.State(); !s.Trusted {
		t.Errorf("a failure after a good signed time: got %+v, want still trusted", s)
	}
	// An NTP-synchronised clock is trusted whatever the centre says.
	board.ntp = ntpStatus{maxError: 5 * time.Millisecond}
	if s := board.monitor(Options{}); !s.State().Trusted {
		t.Errorf("ntp synchronised: got %+v, want trusted", s.State())
	}
}

// Offset is the system clock against the centre's signed time carried
// forward: what monitoring graphs and alerts on.
func TestOffset(t *testing.T) {
	board := &fake{sys: today, ntp: ntpStatus{maxError: 5 * time.Millisecond}}
	m := board.monitor(Options{})
	if _, _, ok := m.Offset(); ok {
		t.Fatal("an offset before any signed time")
	}
	// The centre's time is 3 s behind the board's (the midpoint of a
	// 200 ms round trip): the board is 3 s ahead.
	m.ObserveSignedTime(today.Add(-3*time.Second-100*time.Millisecond), 200*time.Millisecond)
	off, bound, ok := m.Offset()
	if !ok || off != 3*time.Second || bound != 1100*time.Millisecond {
		t.Fatalf("got offset %v ± %v (%v), want 3s ± 1.1s", off, bound, ok)
	}
	// An hour on (the monotonic and the wall clock agree here), the
	// offset is the same and its bound grew with the drift allowed.
	board.sys = board.sys.Add(time.Hour)
	off, bound, ok = m.Offset()
	if !ok || off != 3*time.Second || bound != 1820*time.Millisecond {
		t.Errorf("an hour on: got offset %v ± %v (%v), want 3s ± 1.82s", off, bound, ok)
	}
}
