package gate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/shc"
	"sentinel/crypto/trust"
	"sentinel/crypto/verify"
	"sentinel/internal/passage"
)

const shcIss = "https://issuer.example.org/shc"

// shcCard signs a SMART Health Card for the test holder.
func shcCard(t testing.TB) (jws string, key *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	vc := map[string]any{
		"type": []string{"https://smarthealth.cards#health-card"},
		"credentialSubject": map[string]any{"fhirVersion": "4.0.1", "fhirBundle": map[string]any{
			"resourceType": "Bundle", "type": "collection",
			"entry": []any{
				map[string]any{"resource": map[string]any{"resourceType": "Patient",
					"name": []any{map[string]any{"family": "Li", "given": []string{"Na"}}}, "birthDate": "1980-02-29"}},
				map[string]any{"resource": map[string]any{"resourceType": "Immunization", "status": "completed",
					"vaccineCode":        map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}}},
					"occurrenceDateTime": "2021-06-01"}},
			},
		}},
	}
	jws, err = shc.Sign(key, "", shcIss, vc, t0.Add(-24*time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return jws, key
}

// started starts the rig's gate with the given lanes and returns a channel
// of results.
func started(t *testing.T, mutate func(*State), lanes []LaneConfig, window time.Duration) (*rig, <-chan Result) {
	t.Helper()
	results := make(chan Result, 16)
	r := newRigOpts(t, mutate, func(o *Options) {
		o.Lanes = lanes
		o.ChunkWindow = window
		o.OnPassage = func(res Result) { results <- res }
	})
	ctx, cancel := context.WithCancel(context.Background())
	r.g.Start(ctx)
	t.Cleanup(func() {
		r.g.Stop()
		cancel()
	})
	return r, results
}

func next(t *testing.T, results <-chan Result) Result {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no passage within 10 s")
		return Result{}
	}
}

func TestLanesReadSources(t *testing.T) {
	jws, key := shcCard(t)
	store := testStore(t)
	store.AddSHCKey(&trust.SHCKey{Issuer: shcIss, KID: trust.Thumbprint(&key.PublicKey), Public: &key.PublicKey})
	a := newFakeSource("a")
	b := newFakeSource("b")
	_, results := started(t, func(s *State) { s.Verifier = verify.New(store) },
		[]LaneConfig{{Name: "in-1", Sources: []CodeSource{a}}, {Name: "in-2", Sources: []CodeSource{b}}}, time.Minute)

	a.Push(string(green(t)))
	res := next(t, results)
	if res.Passage.Lane != "in-1" || res.Passage.Decision != passage.Admit || res.Source != "a" {
		t.Errorf("got %s %s from %q, want admit at in-1 from a", res.Passage.Decision, res.Passage.Lane, res.Source)
	}

	// A chunked card read in three parts, out of order, with a repeat.
	parts := shc.EncodeChunks(jws, 3)
	for _, p := range []string{parts[1], parts[0], parts[1], parts[2]} {
		b.Push(p)
	}
	res = next(t, results)
	if res.Passage.Lane != "in-2" || res.Passage.Format != credential.FormatSHC || res.Passage.Decision != passage.Admit {
		t.Errorf("got %s %s %v at %s, want an admitted SHC at in-2", res.Passage.Format, res.Passage.Decision, res.Passage.Reasons, res.Passage.Lane)
	}

	// A line longer than any code is refused like a bad payload.
	a.PushError(fmt.Errorf("scanner a: line of 9000 bytes refused: %w", ErrCodeTooLong))
	res = next(t, results)
	if res.Passage.Decision != passage.Deny || res.Passage.Reasons[0] != string(credential.ReasonTooLarge) {
		t.Errorf("got %s %v, want deny for payload-too-large", res.Passage.Decision, res.Passage.Reasons)
	}
}

func TestChunkWindow(t *testing.T) {
	jws, _ := shcCard(t)
	a := newFakeSource("a")
	r, results := started(t, nil, []LaneConfig{{Name: "in-1", Sources: []CodeSource{a}}}, 20*time.Millisecond)
	parts := shc.EncodeChunks(jws, 2)
	a.Push(parts[0])
	deadline := time.Now().Add(10 * time.Second)
	// The counter moves before the display is told: wait for both.
	shown := func() bool { s := r.display.last(); return len(s.Reasons) > 0 && s.Reasons[0] == ReasonIncomplete }
	for r.g.Metrics().Counts().Incomplete == 0 || !shown() {
		if time.Now().After(deadline) {
			t.Fatalf("the window never closed: incomplete count %d, display %v", r.g.Metrics().Counts().Incomplete, r.display.last().Reasons)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := r.display.last(); s.Reasons[0] != ReasonIncomplete || !strings.Contains(s.Message["en"], "part of the card") {
		t.Errorf("display shows %v %q, want incomplete-card", s.Reasons, s.Message["en"])
	}
	// The held part was dropped: the second part alone completes nothing,
	// and the first again with it makes a whole card.
	a.Push(parts[1])
	a.Push(parts[0])
	res := next(t, results)
	if res.Passage.Format != credential.FormatSHC {
		t.Errorf("got %s %v, want the SHC assembled after the reset", res.Passage.Format, res.Passage.Reasons)
	}
	if n := len(r.journal.all()); n != 1 {
		t.Errorf("got %d passages, want 1", n)
	}
}

func TestStopDrains(t *testing.T) {
	a := newFakeSource("a")
	results := make(chan Result, 16)
	r := newRigOpts(t, nil, func(o *Options) {
		o.Lanes = []LaneConfig{{Name: "in-1", Sources: []CodeSource{a}}}
		o.OnPassage = func(res Result) { results <- res }
	})
	r.g.Start(context.Background())
	a.Push(string(green(t)))
	next(t, results)
	done := make(chan struct{})
	go func() { r.g.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
	if !a.closed() {
		t.Error("source not closed after Stop")
	}
}

// TestManyLanes runs eight lanes at once: every code becomes one passage,
// each lane's passages stay in the order read, and a lane never runs two
// passages at a time.
func TestManyLanes(t *testing.T) {
	const lanes, perLane = 8, 20
	var cfgs []LaneConfig
	var srcs []*fakeSource
	for i := range lanes {
		f := newFakeSource(fmt.Sprintf("s%d", i))
		srcs = append(srcs, f)
		cfgs = append(cfgs, LaneConfig{Name: fmt.Sprintf("in-%d", i), Sources: []CodeSource{f}, Thermometer: &busyThermo{}})
	}
	results := make(chan Result, lanes*perLane)
	r := newRigOpts(t, nil, func(o *Options) {
		o.Lanes = cfgs
		o.OnPassage = func(res Result) { results <- res }
	})
	r.g.Start(context.Background())
	defer r.g.Stop()
	codes := make([][]byte, perLane)
	for k := range perLane {
		codes[k] = issue(t, issuerKey, uint32(k+1), credential.ColourGreen)
	}
	for _, f := range srcs {
		go func() {
			for _, c := range codes {
				f.Push(string(c))
			}
		}()
	}
	seen := map[string]uint32{}
	for range lanes * perLane {
		res := next(t, results)
		p := res.Passage
		seen[p.Lane]++
		if p.Decision != passage.Admit || p.Holder.Index != seen[p.Lane] {
			t.Fatalf("lane %s: got %s %v for holder %d, want admit for %d", p.Lane, p.Decision, p.Reasons, p.Holder.Index, seen[p.Lane])
		}
	}
	if n := len(r.journal.all()); n != lanes*perLane {
		t.Errorf("got %d passages journalled, want %d", n, lanes*perLane)
	}
}

// busyThermo fails the test's invariant if two passages of one lane
// measure at the same time.
type busyThermo struct{ busy atomic.Bool }

func (b *busyThermo) Measure(ctx context.Context) passage.Temperature {
	if !b.busy.CompareAndSwap(false, true) {
		return passage.Temperature{State: passage.TempUnavailable, Fault: "two passages at once on one lane"}
	}
	defer b.busy.Store(false)
	time.Sleep(100 * time.Microsecond)
	return passage.Temperature{State: passage.TempOK, Value: celsius(36.6), Ambient: celsius(24), Confidence: 1}
}
