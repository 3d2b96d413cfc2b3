package ui

import (
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
)

// Defaults of Options.
const (
	DefaultAdmitHold  = 5 * time.Second
	DefaultRefuseHold = 30 * time.Second
	DefaultHeartbeat  = 15 * time.Second
	// DefaultPINLockout is the wait shown when the gate locks overrides
	// without saying for how long.
	DefaultPINLockout = time.Minute
	// DefaultMaxStreams bounds the open event streams: a display needs
	// one per open page, so this is far more than any site has screens.
	DefaultMaxStreams = 32
	// maxName bounds the masked name shown (it comes from a QR code).
	maxName = 48
)

// Options configure a Server. Only OnOverride is needed for overrides;
// every other field has a default.
type Options struct {
	// Lang is the site's language: "zh" or "en" (default).
	Lang string
	// Site is the site's name in the top bar.
	Site string
	// Lanes are the lane names in the order shown; lanes first named by
	// Show or SetStatus are added after them.
	Lanes []string
	// OnOverride checks a guard's override and journals it; nil hides the
	// override button.
	OnOverride OverrideFunc
	// OverrideReasons are the reason codes on the pad; default the gate's
	// list.
	OverrideReasons []string
	// Now is the terminal's clock; default time.Now.
	Now func() time.Time
	// Location is the site's time zone, for the clock and the day's
	// counters; default UTC.
	Location *time.Location
	// AdmitHold and RefuseHold are how long an admission and a refusal or
	// referral stay on screen before the lane shows ready again.
	AdmitHold, RefuseHold time.Duration
	// Heartbeat is the interval of the event stream's keep-alive events.
	Heartbeat time.Duration
	// MaxStreams bounds the event streams open at once
	// (DefaultMaxStreams); one more is answered 503 with Retry-After, so
	// that a runaway client cannot take every file descriptor of the
	// daemon.
	MaxStreams int
	// Hosts are Host header names accepted besides loopback addresses and
	// localhost.
	Hosts []string
	// Logger receives override attempts (never the PIN); nil discards.
	Logger *slog.Logger
}

// Server is the guard display. It is safe for concurrent use: lanes call
// Show from their own goroutines.
type Server struct {
	opts   Options
	logger *slog.Logger
	token  string // the page's CSRF token
	epoch  string // distinguishes event ids across restarts
	page   *template.Template
	static http.Handler

	mu        sync.Mutex
	lang      string
	lanes     []*laneState
	status    Status
	statusSet bool
	manual    bool // latched by a Shown with Manual
	day       string
	counts    Counts
	version   uint64
	subs      map[chan struct{}]struct{}
	refused   int // event streams refused since the streams were last full
	closed    bool
	done      chan struct{}

	overrideMu sync.Mutex // one override at a time, so the PIN limit is exact
}

type laneState struct {
	name    string
	devices LaneStatus
	verdict *Shown
	refQR   string    // the verdict's passage reference as a QR code (a data URL)
	until   time.Time // when the lane is ready again
}

// New returns a display server. It starts no goroutine: every event
// stream is served by its request's goroutine, and Close ends them.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.AdmitHold <= 0 {
		opts.AdmitHold = DefaultAdmitHold
	}
	if opts.RefuseHold <= 0 {
		opts.RefuseHold = DefaultRefuseHold
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = DefaultMaxStreams
	}
	if len(opts.OverrideReasons) == 0 {
		opts.OverrideReasons = defaultOverrideReasons
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("ui: embedded assets: " + err.Error()) // the build embeds them
	}
	s := &Server{
		opts:   opts,
		logger: logger,
		token:  randomHex(32),
		epoch:  randomHex(4),
		page:   pageTemplate,
		static: http.StripPrefix("/assets/", http.FileServerFS(sub)),
		lang:   normLang(opts.Lang),
		subs:   make(map[chan struct{}]struct{}),
		done:   make(chan struct{}),
	}
	for _, name := range opts.Lanes {
		s.lane(name)
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// lane returns the named lane, adding it. s.mu is held.
func (s *Server) lane(name string) *laneState {
	for _, l := range s.lanes {
		if l.name == name {
			return l
		}
	}
	l := &laneState{name: name, devices: LaneStatus{Name: name}}
	s.lanes = append(s.lanes, l)
	return l
}

// Show displays a passage at its lane and counts it. It never blocks on
// the page.
func (s *Server) Show(v Shown) {
	now := s.opts.Now()
	switch v.Verdict {
	case passage.Admit, passage.Deny, passage.Refer:
	default:
		v.Verdict = passage.Refer // an outcome the page does not know: the guard looks
	}
	if v.At.IsZero() {
		v.At = now
	}
	if utf8.RuneCountInString(v.MaskedName) > maxName {
		v.MaskedName = string([]rune(v.MaskedName)[:maxName-1]) + "…"
	}
	v.Reasons = append([]string(nil), v.Reasons...)
	v.OverrideReasons = append([]string(nil), v.OverrideReasons...)
	msg := make(map[string]string, len(v.Message))
	for k, m := range v.Message {
		msg[normLang(k)] = m
	}
	v.Message = msg
	hold := s.opts.RefuseHold
	if v.Verdict == passage.Admit {
		hold = s.opts.AdmitHold
		v.Ref = "" // nothing to appeal
	}
	var qr string
	if v.Ref != "" {
		var err error
		if qr, err = refQR(v.Ref); err != nil {
			s.logger.Warn("passage reference shown without its QR code", "lane", v.Lane, "ref", v.Ref, "error", err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lane(v.Lane)
	l.verdict, l.refQR, l.until = &v, qr, now.Add(hold)
	s.rollDay(now)
	switch {
	case v.OverrideReason != "":
		s.counts.Overrides++
	case v.Manual:
		// not recorded: not a passage of the day
	case v.Verdict == passage.Admit:
		s.counts.Admitted++
	case v.Verdict == passage.Deny:
		s.counts.Refused++
	default:
		s.counts.Referred++
	}
	s.manual = v.Manual
	s.changed()
}

// SetStatus replaces the terminal's status on the page.
func (s *Server) SetStatus(st Status) {
	st.Lanes = append([]LaneStatus(nil), st.Lanes...)
	st.Bundles = append([]Bundle(nil), st.Bundles...)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ls := range st.Lanes {
		s.lane(ls.Name).devices = ls
	}
	s.status, s.statusSet = st, true
	s.changed()
}

// SetLang changes the site's language; pages that did not ask for a
// language of their own reload in it.
func (s *Server) SetLang(lang string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lang = normLang(lang)
	s.changed()
}

// SetLocation changes the site's time zone, which the config bundle sets;
// nil means UTC. The day's counters follow the new zone's day.
func (s *Server) SetLocation(loc *time.Location) {
	if loc == nil {
		loc = time.UTC
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Location = loc
	s.changed()
}

// RestoreCounts sets the counters of the site's day that holds at, as the
// daemon rebuilds them from its journal at start; counters of another day
// than today are ignored. Passages shown since are added to them.
func (s *Server) RestoreCounts(at time.Time, c Counts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.rollDay(now)
	if at.In(s.opts.Location).Format(time.DateOnly) != s.day {
		return
	}
	s.counts.Admitted += c.Admitted
	s.counts.Refused += c.Refused
	s.counts.Referred += c.Referred
	s.counts.Overrides += c.Overrides
	s.changed()
}

// Counts returns the day's counters.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollDay(s.opts.Now())
	return s.counts
}

// rollDay zeroes the counters when the site's day changed. s.mu is held.
func (s *Server) rollDay(now time.Time) {
	day := now.In(s.opts.Location).Format(time.DateOnly)
	if day != s.day {
		s.day, s.counts = day, Counts{}
	}
}

// changed wakes every event stream. s.mu is held.
func (s *Server) changed() {
	s.version++
	for c := range s.subs {
		select {
		case c <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// Close ends every event stream and refuses new ones; call it before the
// http.Server's Shutdown. Show and SetStatus still work.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	return nil
}

// colourWord is the colour's name for the page ("none" for ColourNone).
func colourWord(c credential.Colour) string {
	switch c {
	case credential.ColourGreen, credential.ColourYellow, credential.ColourRed:
		return c.String()
	}
	return "none"
}
