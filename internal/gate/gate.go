package gate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/shc"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
)

// Defaults of Options.
const (
	// DefaultChunkWindow is how long the parts of a chunked SMART Health
	// Card are awaited after the last part read.
	DefaultChunkWindow = 10 * time.Second
	// DefaultOverrideWindow is how long after a refusal the guard may
	// override it: the time the display holds a refusal on screen
	// (ui.DefaultRefuseHold), so that the guard overrides only what the
	// lane shows.
	DefaultOverrideWindow = 30 * time.Second
	// DefaultReplayWindow is how long a static code (a paper code, an EU
	// DCC, a SMART Health Card) stays used once admitted: long enough to
	// stop it being handed back over the fence, short enough for the
	// holder to come back.
	DefaultReplayWindow = 2 * time.Minute
)

// Errors returned by the gate.
var (
	// ErrUnknownLane: no lane has that name.
	ErrUnknownLane = errors.New("gate: no such lane")
	// ErrNothingToOverride: the lane's last passage was admitted, already
	// overridden, or is no longer on screen.
	ErrNothingToOverride = errors.New("gate: nothing to override at this lane: the last person was admitted, already overridden, or is no longer on screen")
	// ErrNotOverridable: the code was forged, altered, revoked or a
	// screenshot; no override admits it.
	ErrNotOverridable = errors.New("gate: this refusal cannot be overridden: the code is forged, altered, revoked or a screenshot")
	// ErrEmergencyOnly: a refusal by the site's rules (a red or yellow
	// code, an expired code…) can be overridden for an emergency only.
	ErrEmergencyOnly = errors.New("gate: this refusal can be overridden only for an emergency")
	// ErrBadPIN: the PIN matches no guard of the site.
	ErrBadPIN = errors.New("gate: wrong PIN")
	// ErrNoGuards: the site settings (config bundle) name no guard, so no
	// PIN can be right; it does not count towards the lockout.
	ErrNoGuards = errors.New("gate: this terminal has no guard PINs: ops give them in the site settings (config bundle); use the manual procedure")
	// ErrOverrideLocked: too many wrong PINs; overrides wait. Matched by
	// every *LockedError, which says until when.
	ErrOverrideLocked = errors.New("gate: too many wrong PINs: overrides are locked")
	// ErrOverrideReason: the reason is not on the list.
	ErrOverrideReason = errors.New("gate: choose a reason from the list")
	// ErrSourceClosed is matched by the error a CodeSource's Next returns
	// after Close.
	ErrSourceClosed = errors.New("gate: code source closed")
	// ErrCodeTooLong is matched by the error a CodeSource's Next returns
	// for a line longer than any code. The line was discarded, so the next
	// code reads normally.
	ErrCodeTooLong = errors.New("gate: line longer than any code")
	// ErrJournal is matched by every *JournalError.
	ErrJournal = errors.New("gate: the passage could not be recorded: the gate stays shut, switch to the manual procedure")
)

// JournalError reports a passage the journal could not commit. The gate
// stayed shut.
type JournalError struct {
	Lane string
	Err  error
}

func (e *JournalError) Error() string {
	return fmt.Sprintf("gate: lane %s: journal append: %v: the gate stays shut, switch to the manual procedure", e.Lane, e.Err)
}

// Unwrap returns ErrJournal and the journal's error.
func (e *JournalError) Unwrap() []error { return []error{ErrJournal, e.Err} }

// LaneConfig is one lane: its code sources and its devices.
type LaneConfig struct {
	// Name names the lane on the display and in the journal.
	Name string
	// Sources read codes: scanners and cameras, each best rid of
	// repeated reads (the daemon wraps them in scanner.NewDedup before
	// adapting them with internal/hardware/gatedev). The gate owns them
	// once started: Stop closes them.
	Sources []CodeSource
	// Thermometer takes the temperature; nil when the lane has none.
	Thermometer Thermometer
	// Outputs are the relay, light tower and buzzer; nil when none.
	Outputs Outputs
	// Exit marks a lane people leave by (the default is an entry). At a
	// compound's exit, a resident whose status is yellow or red is
	// refused with ReasonQuarantine, whatever the policy would do.
	Exit bool
}

// Options configure a Gate.
type Options struct {
	Lanes []LaneConfig
	// Journal records passages durably. Required.
	Journal Journal
	// Clock is the terminal's clock and its trust. Required.
	Clock Clock
	// State is what the gate decides with until SetState replaces it.
	// Required.
	State *State
	// Display shows verdicts to the guard; nil when there is none.
	Display Display
	// Logger receives one line per passage (never personal data) and the
	// lanes' errors; nil discards.
	Logger *slog.Logger
	// ChunkWindow: see DefaultChunkWindow.
	ChunkWindow time.Duration
	// OverrideWindow: see DefaultOverrideWindow.
	OverrideWindow time.Duration
	// OnPassage, when set, is called after every passage with its result,
	// from the lane's goroutine.
	OnPassage func(Result)
	// Replay remembers the codes admitted at this terminal, at every lane
	// and across restarts; a code admitted moments ago is referred to the
	// guard with credential.ReasonJustUsed. Nil admits a code as often as
	// it is shown.
	Replay ReplayMemory
	// ReplayWindow: see DefaultReplayWindow. A live presentation is kept
	// for as long as it verifies instead.
	ReplayWindow time.Duration
	// PINState is the guard PIN lockout's state at start, as SavePINState
	// last saved it; SavePINState, when set, is called with the new state
	// after every change, so that a restart keeps a lockout.
	PINState     PINState
	SavePINState func(PINState) error
}

// Result is the outcome of one passage.
type Result struct {
	// Passage is the journal's passage as the gate appended it, with the
	// temperature as it was taken (the journal keeps only a reading).
	Passage *journal.Passage
	// Seq is the journal's sequence number; valid when Committed.
	Seq       journal.Seq
	Committed bool
	// Err is the *JournalError when the passage was not committed.
	Err error
	// Source names the scanner or camera that read the code.
	Source string
	// MaskedName is the masked display name, when the code had one.
	MaskedName string
	// Decide is the time from payload to decision, without the
	// temperature measurement and the journal.
	Decide time.Duration
}

// Gate is the decision pipeline of one terminal.
type Gate struct {
	opts    Options
	logger  *slog.Logger
	lanes   []*lane
	byName  map[string]*lane
	state   atomic.Pointer[State]
	metrics Metrics

	pins *pinLimiter

	cancel  context.CancelFunc
	readers sync.WaitGroup
	workers sync.WaitGroup
}

type lane struct {
	cfg LaneConfig
	mu  sync.Mutex // held for the whole of a passage or override
	asm shc.Assembler
	// target is the lane's last passage when it was a committed refusal
	// or referral that may be overridden; nil once anything else happened
	// at the lane or it was overridden.
	target *overrideTarget
}

// New returns a gate for opts. It does not start reading: see Start.
func New(opts Options) (*Gate, error) {
	if opts.Journal == nil || opts.Clock == nil || opts.State == nil {
		return nil, errors.New("gate: Journal, Clock and State are required")
	}
	if opts.ChunkWindow <= 0 {
		opts.ChunkWindow = DefaultChunkWindow
	}
	if opts.OverrideWindow <= 0 {
		opts.OverrideWindow = DefaultOverrideWindow
	}
	if opts.ReplayWindow <= 0 {
		opts.ReplayWindow = DefaultReplayWindow
	}
	g := &Gate{opts: opts, logger: opts.Logger, byName: make(map[string]*lane)}
	g.metrics.init()
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	g.pins = &pinLimiter{st: opts.PINState, save: opts.SavePINState, onErr: func(err error) {
		g.logger.Error("guard PIN lockout not saved: a restart would forget it", "error", err)
	}}
	for _, lc := range opts.Lanes {
		if lc.Name == "" {
			return nil, errors.New("gate: a lane has no name")
		}
		if g.byName[lc.Name] != nil {
			return nil, fmt.Errorf("gate: lane %q configured twice", lc.Name)
		}
		l := &lane{cfg: lc}
		g.lanes = append(g.lanes, l)
		g.byName[lc.Name] = l
	}
	g.SetState(opts.State)
	return g, nil
}

// SetState installs a new State for the passages that start from now on.
// A passage in progress finishes with the State it started with.
func (g *Gate) SetState(s *State) {
	s = s.clone()
	if s.Site == nil {
		s.Site = DefaultSiteSettings(Custom)
	}
	s.vers = s.makeVersions()
	s.fresh = new(freshCache)
	g.state.Store(s)
}

// State returns the State in force. Do not change it: build a new one.
func (g *Gate) State() *State { return g.state.Load() }

// Lanes returns the lanes' names in configuration order.
func (g *Gate) Lanes() []string {
	names := make([]string, len(g.lanes))
	for i, l := range g.lanes {
		names[i] = l.cfg.Name
	}
	return names
}

// Metrics returns the gate's counters and latency histograms.
func (g *Gate) Metrics() *Metrics { return &g.metrics }

// event is what a source goroutine hands its lane.
type event struct {
	code Code
	err  error
}

// Start starts one goroutine per source and one per lane. ctx bounds the
// passages themselves: cancelling it aborts a passage in progress (the
// gate stays shut unless the journal had committed). Stop drains.
func (g *Gate) Start(ctx context.Context) {
	readCtx, cancel := context.WithCancel(ctx)
	g.cancel = cancel
	for _, l := range g.lanes {
		events := make(chan event, 4)
		var readers sync.WaitGroup
		for _, src := range l.cfg.Sources {
			readers.Go(func() { g.read(readCtx, l, src, events) })
		}
		g.readers.Go(func() {
			readers.Wait()
			close(events)
		})
		g.workers.Go(func() { g.work(ctx, l, events) })
	}
}

// Stop stops reading codes, closes the sources and waits for the passages
// in progress to finish. Bound the wait by cancelling Start's context.
func (g *Gate) Stop() {
	if g.cancel != nil {
		g.cancel()
	}
	for _, l := range g.lanes {
		for _, src := range l.cfg.Sources {
			src.Close()
		}
	}
	g.readers.Wait()
	g.workers.Wait()
}

// read feeds the codes of one source to its lane until ctx is done or the
// source is closed or exhausted.
func (g *Gate) read(ctx context.Context, l *lane, src CodeSource, events chan<- event) {
	var lastErr string
	for {
		code, err := src.Next(ctx)
		switch {
		case ctx.Err() != nil, errors.Is(err, ErrSourceClosed), errors.Is(err, io.EOF):
			return
		case err != nil:
			if msg := err.Error(); msg != lastErr { // log an identical error once
				g.logger.Warn("code not read", "lane", l.cfg.Name, "error", err)
				lastErr = msg
			}
		default:
			lastErr = ""
		}
		select {
		case events <- event{code: code, err: err}:
		case <-ctx.Done():
			return
		}
	}
}

// chunked matches the header of a part of a chunked SMART Health Card.
var chunked = regexp.MustCompile(`^shc:/[0-9]+/[0-9]+/`)

// work handles a lane's codes one person at a time.
func (g *Gate) work(ctx context.Context, l *lane, events <-chan event) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			g.handle(ctx, l, ev, timer)
		case <-timer.C:
			l.mu.Lock()
			l.asm.Reset()
			l.target = nil
			l.mu.Unlock()
			g.metrics.incomplete.Add(1)
			g.show(Shown{Lane: l.cfg.Name, Verdict: passage.Refer, Reasons: []string{ReasonIncomplete}, Message: messageOf([]string{ReasonIncomplete}), At: g.now()})
		case <-ctx.Done():
			return
		}
	}
}

// handle turns one event into a passage, or into a part of a chunked card.
func (g *Gate) handle(ctx context.Context, l *lane, ev event, timer *time.Timer) {
	switch {
	case errors.Is(ev.err, ErrCodeTooLong):
		// A line longer than any QR code: refused like any bad payload.
		g.run(ctx, l, nil, ev.code.Source, credential.ReasonTooLarge)
		return
	case ev.err != nil:
		l.mu.Lock()
		l.target = nil // the screen now shows this, not the refusal
		l.mu.Unlock()
		g.metrics.scanErrors.Add(1)
		g.show(Shown{Lane: l.cfg.Name, Verdict: passage.Refer, Reasons: []string{ReasonScanError}, Message: messageOf([]string{ReasonScanError}), At: g.now()})
		return
	}
	payload := ev.code.Text
	if chunked.Match(payload) {
		l.mu.Lock()
		jws, _, err := l.asm.Add(string(payload))
		have, _ := l.asm.Pending()
		l.mu.Unlock()
		switch {
		case err != nil:
			timer.Stop()
			g.run(ctx, l, nil, ev.code.Source, credential.ReasonOf(err))
		case jws == "":
			if have > 0 {
				timer.Reset(g.opts.ChunkWindow)
			}
		default:
			timer.Stop()
			g.run(ctx, l, []byte(jws), ev.code.Source, "")
		}
		return
	}
	g.run(ctx, l, payload, ev.code.Source, "")
}

// Process runs one passage at lane synchronously, as the lane's goroutine
// does for every code read. Tests and benchmarks call it directly.
func (g *Gate) Process(ctx context.Context, laneName string, payload []byte) (Result, error) {
	l := g.byName[laneName]
	if l == nil {
		return Result{}, fmt.Errorf("%w: %q", ErrUnknownLane, laneName)
	}
	r := g.run(ctx, l, payload, "", "")
	return r, r.Err
}

func (g *Gate) now() time.Time {
	t, _ := g.opts.Clock.Now()
	return t
}

func (g *Gate) show(s Shown) {
	if g.opts.Display != nil {
		g.opts.Display.Show(s)
	}
}
