package gate

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/crypto/verify"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/sync/journal"
)

// The fixture: one native issuer, a fixed clock.
var (
	issuerKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	forgerKey = ed25519.NewKeyFromSeed([]byte("forger-forger-forger-forger-1234"))
	t0        = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
)

// issue makes a native code for index with colour, issued at t0.
func issue(t testing.TB, key ed25519.PrivateKey, index uint32, c credential.Colour) []byte {
	t.Helper()
	is, err := healthcode.NewIssuer("ZJ", key, &healthcode.IssuerOptions{Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	code, err := is.Issue(healthcode.Claims{Index: index, Colour: c, DisplayName: "Zhang *"})
	if err != nil {
		t.Fatal(err)
	}
	return []byte(code)
}

func testStore(t testing.TB) *trust.Store {
	t.Helper()
	s := trust.New()
	if _, err := s.AddNativeKey("ZJ", issuerKey.Public(), trust.Validity{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// freshBundles are every kind installed and fresh at t0+1h.
func freshBundles() map[trust.Kind]BundleState {
	m := map[trust.Kind]BundleState{}
	for _, k := range trust.Kinds() {
		m[k] = BundleState{Version: 1, IssuedAt: t0, FreshUntil: t0.Add(24 * time.Hour), GraceUntil: t0.Add(72 * time.Hour)}
	}
	return m
}

// seedPolicy is a hand-written policy with the seed's default rules, used
// by these tests in place of internal/policy.
type seedPolicy struct {
	yellow passage.Verdict    // Deny when empty
	fever  physic.Temperature // 37.3 °C when zero
}

func (sp seedPolicy) Decide(in *Input) Decision {
	refer := func(r ...string) Decision { return Decision{Verdict: passage.Refer, Reasons: r} }
	switch {
	case !in.Enrolled:
		return refer("not-enrolled")
	case !in.ClockTrusted:
		return refer("clock-untrusted")
	case in.Credential == nil:
		return Decision{Verdict: passage.Deny, Reasons: []string{string(in.Rejection)}}
	}
	for _, k := range []trust.Kind{trust.KindTrust, trust.KindStatusBase} {
		if f := in.Bundles[k]; f == trust.FreshnessStale || f == trust.FreshnessBlocked {
			return refer("bundle-stale")
		}
	}
	colour := in.Credential.Colour
	if in.Status.Overridden {
		colour = in.Status.Colour()
	}
	switch colour {
	case credential.ColourRed:
		return Decision{Verdict: passage.Deny, Reasons: []string{"status-red"}, Colour: colour}
	case credential.ColourYellow:
		v := sp.yellow
		if v == "" {
			v = passage.Deny
		}
		return Decision{Verdict: v, Reasons: []string{"status-yellow"}, Colour: colour}
	}
	switch in.Temperature.State {
	case passage.TempUnavailable:
		return refer("thermometer")
	case passage.TempRetake:
		return refer("temp-retake")
	case passage.TempOK:
		fever := sp.fever
		if fever == 0 {
			fever = celsius(37.3)
		}
		if in.Temperature.Value >= fever {
			return refer("fever")
		}
	}
	return Decision{Verdict: passage.Admit, Colour: colour}
}

// recorder is the shared log of journal and output calls, to check their
// order.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
}

func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

type fakeJournal struct {
	rec      *recorder
	mu       sync.Mutex
	fail     error
	passages []*journal.Passage
}

func (j *fakeJournal) Append(ctx context.Context, p *journal.Passage) (journal.Seq, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail != nil {
		j.rec.add("journal-fail")
		return 0, j.fail
	}
	j.passages = append(j.passages, p)
	j.rec.add("journal")
	return journal.Seq(len(j.passages)), nil
}

func (j *fakeJournal) all() []*journal.Passage {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]*journal.Passage(nil), j.passages...)
}

type fakeOutputs struct{ rec *recorder }

func (o fakeOutputs) Admit() error  { o.rec.add("admit"); return nil }
func (o fakeOutputs) Refuse() error { o.rec.add("refuse"); return nil }
func (o fakeOutputs) Fault() error  { o.rec.add("fault"); return nil }

type fakeDisplay struct {
	mu    sync.Mutex
	shown []Shown
}

func (d *fakeDisplay) Show(s Shown) {
	d.mu.Lock()
	d.shown = append(d.shown, s)
	d.mu.Unlock()
}

func (d *fakeDisplay) last() Shown {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.shown) == 0 {
		return Shown{}
	}
	return d.shown[len(d.shown)-1]
}

type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	trusted bool
}

func (c *fakeClock) Now() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t, c.trusted
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeThermo returns readings in turn, or fail when it is set.
type fakeThermo struct {
	mu    sync.Mutex
	temps []float64 // °C
	fail  *passage.Temperature
}

func (f *fakeThermo) Measure(ctx context.Context) passage.Temperature {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return *f.fail
	}
	c := 36.6
	if len(f.temps) > 0 {
		c, f.temps = f.temps[0], f.temps[1:]
	}
	return passage.Temperature{State: passage.TempOK, Value: celsius(c), Ambient: celsius(24), Confidence: 0.9}
}

// fakeSource is a CodeSource: codes and errors pushed come out of Next in
// order; after Close, Next returns ErrSourceClosed.
type fakeSource struct {
	name  string
	items chan fakeItem
	done  chan struct{}
	once  sync.Once
}

type fakeItem struct {
	text string
	err  error
}

var _ CodeSource = (*fakeSource)(nil)

func newFakeSource(name string) *fakeSource {
	return &fakeSource{name: name, items: make(chan fakeItem, 64), done: make(chan struct{})}
}

// Push queues a code; it blocks while 64 are unread.
func (f *fakeSource) Push(text string) { f.items <- fakeItem{text: text} }

// PushError queues an error for Next to return.
func (f *fakeSource) PushError(err error) { f.items <- fakeItem{err: err} }

func (f *fakeSource) Next(ctx context.Context) (Code, error) {
	select {
	case <-f.done:
		return Code{}, ErrSourceClosed
	default:
	}
	select {
	case <-ctx.Done():
		return Code{}, ctx.Err()
	case <-f.done:
		return Code{}, ErrSourceClosed
	case it := <-f.items:
		if it.err != nil {
			return Code{}, it.err
		}
		return Code{Text: []byte(it.text), Source: f.name, At: time.Now()}, nil
	}
}

func (f *fakeSource) Close() error {
	f.once.Do(func() { close(f.done) })
	return nil
}

// closed reports whether Close was called.
func (f *fakeSource) closed() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// fakeStatus lists native holders by index.
type fakeStatus map[uint32]policy.Status

func (f fakeStatus) Lookup(c *credential.Credential, now time.Time) policy.Status {
	return f[c.Holder.Index]
}

// rig is a gate with fakes around it and one lane "in-1".
type rig struct {
	g       *Gate
	rec     *recorder
	journal *fakeJournal
	display *fakeDisplay
	clock   *fakeClock
	thermo  *fakeThermo
}

func newRig(t testing.TB, mutate func(*State)) *rig {
	t.Helper()
	return newRigOpts(t, mutate, nil)
}

// newRigOpts is newRig with a chance to change the options.
func newRigOpts(t testing.TB, mutate func(*State), opts func(*Options)) *rig {
	t.Helper()
	r := &rig{rec: &recorder{}, display: &fakeDisplay{}, clock: &fakeClock{t: t0.Add(time.Hour), trusted: true}, thermo: &fakeThermo{}}
	r.journal = &fakeJournal{rec: r.rec}
	pin, err := HashPIN("246810", minPINIterations)
	if err != nil {
		t.Fatal(err)
	}
	site := DefaultSiteSettings(Supermarket)
	site.Guards = []Guard{{ID: "guard-1", PINHash: pin}}
	st := &State{
		Verifier: verify.New(testStore(t)), Status: fakeStatus{}, Policy: seedPolicy{},
		Enrolled: true, Bundles: freshBundles(), Site: site,
	}
	if mutate != nil {
		mutate(st)
	}
	o := Options{
		Lanes:   []LaneConfig{{Name: "in-1", Thermometer: r.thermo, Outputs: fakeOutputs{r.rec}}},
		Journal: r.journal, Clock: r.clock, State: st, Display: r.display,
	}
	if opts != nil {
		opts(&o)
	}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	r.g = g
	return r
}

// celsius converts °C to a physic.Temperature.
func celsius(c float64) physic.Temperature {
	return physic.ZeroCelsius + physic.Temperature(c*float64(physic.Celsius))
}

var errDiskFull = errors.New("write journal: no space left on device")
