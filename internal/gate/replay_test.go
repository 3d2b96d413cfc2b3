package gate

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/ed25519"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/base45"
	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/internal/passage"
	"sentinel/internal/replay"
	"sentinel/sync/journal"
)

// replayRig is a rig with two lanes and a replay memory in dir.
func replayRig(t *testing.T, dir string) (*rig, *replay.Memory) {
	t.Helper()
	mem, err := replay.Open(filepath.Join(dir, replay.File), replay.Options{Now: func() time.Time { return t0.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	r := newRigOpts(t, nil, func(o *Options) {
		o.Lanes = append(o.Lanes, LaneConfig{Name: "in-2"})
		o.Replay = mem
	})
	return r, mem
}

// phone returns the phone credential of holder index 7 with its
// presenter.
func phone(t *testing.T) *healthcode.Presenter {
	t.Helper()
	_, holder, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	is, err := healthcode.NewIssuer("ZJ", issuerKey, &healthcode.IssuerOptions{Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	code, err := is.Issue(healthcode.Claims{Index: 7, Colour: credential.ColourGreen, DisplayName: "Li *", HolderKey: holder.Public()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := healthcode.NewPresenter(code, holder)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pass(t *testing.T, r *rig, lane string, payload []byte) *journal.Passage {
	t.Helper()
	res, err := r.g.Process(context.Background(), lane, payload)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Committed {
		t.Fatal("passage not journalled")
	}
	return res.Passage
}

func wantVerdict(t *testing.T, what string, p *journal.Passage, v passage.Verdict, reason string) {
	t.Helper()
	if p.Decision != v || (reason != "" && !slices.Contains(p.Reasons, reason)) {
		t.Errorf("%s: got %s %v, want %s %s", what, p.Decision, p.Reasons, v, reason)
	}
}

const justUsed = string(credential.ReasonJustUsed)

// TestLiveCodeReplay: the same live presentation shown three times in 12 s
// at one lane, and at another lane, is admitted once; the refusals are
// journalled and the guard reads why. The memory survives a restart, and
// the holder's next presentation passes.
func TestLiveCodeReplay(t *testing.T) {
	dir := t.TempDir()
	r, mem := replayRig(t, dir)
	pr := phone(t)
	now, _ := r.clock.Now()
	code, err := pr.Code(now)
	if err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, "first showing", pass(t, r, "in-1", []byte(code)), passage.Admit, "")
	for i := range 2 {
		r.clock.advance(6 * time.Second)
		wantVerdict(t, "replay at the same lane", pass(t, r, "in-1", []byte(code)), passage.Refer, justUsed)
		if i == 0 {
			if msg := r.display.last().Message["en"]; msg != credential.ReasonJustUsed.Message("en") {
				t.Errorf("the guard reads %q, want %q", msg, credential.ReasonJustUsed.Message("en"))
			}
		}
	}
	wantVerdict(t, "replay at another lane", pass(t, r, "in-2", []byte(code)), passage.Refer, justUsed)
	if n := len(r.journal.all()); n != 4 {
		t.Errorf("got %d passages journalled, want 4 (refusals are journalled)", n)
	}
	if n := r.g.Metrics().Counts().Replays; n != 3 {
		t.Errorf("got %d replays counted, want 3", n)
	}
	admits := 0
	for _, e := range r.rec.events() {
		if e == "admit" {
			admits++
		}
	}
	if got := r.rec.events(); admits != 1 {
		t.Errorf("the relay was pulsed more than once: %v", got)
	}

	// A restart: the memory is read back from the data directory.
	mem.Close()
	r2, _ := replayRig(t, dir)
	r2.clock.advance(12 * time.Second)
	wantVerdict(t, "replay after a restart", pass(t, r2, "in-1", []byte(code)), passage.Refer, justUsed)

	// The holder's phone shows the next step's code: admitted.
	r2.clock.advance(30 * time.Second)
	now, _ = r2.clock.Now()
	next, err := pr.Code(now)
	if err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, "the next presentation", pass(t, r2, "in-2", []byte(next)), passage.Admit, "")
}

// TestPaperCodeReplay: a paper code is admitted once within the window,
// then again; a code that was not admitted is not remembered.
func TestPaperCodeReplay(t *testing.T) {
	r, _ := replayRig(t, t.TempDir())
	code := green(t)
	wantVerdict(t, "first showing", pass(t, r, "in-1", code), passage.Admit, "")
	r.clock.advance(time.Minute)
	wantVerdict(t, "handed back within the window", pass(t, r, "in-2", code), passage.Refer, justUsed)
	r.clock.advance(DefaultReplayWindow)
	wantVerdict(t, "after the window", pass(t, r, "in-1", code), passage.Admit, "")

	redCode := red(t)
	p := pass(t, r, "in-1", redCode)
	p2 := pass(t, r, "in-1", redCode)
	if slices.Contains(p.Reasons, justUsed) || slices.Contains(p2.Reasons, justUsed) || p.Decision == passage.Admit {
		t.Errorf("a refused code was remembered: %s %v then %s %v", p.Decision, p.Reasons, p2.Decision, p2.Reasons)
	}
}

// TestReplayJournalFailure: a passage the journal could not record does
// not use the code up.
func TestReplayJournalFailure(t *testing.T) {
	r, _ := replayRig(t, t.TempDir())
	code := green(t)
	r.journal.fail = errDiskFull
	if res, _ := r.g.Process(context.Background(), "in-1", code); res.Committed {
		t.Fatal("the journal committed")
	}
	r.journal.fail = nil
	wantVerdict(t, "after the journal recovered", pass(t, r, "in-1", code), passage.Admit, "")
}

// TestReplayAcrossLanesAtOnce: two lanes showing one code at the same
// instant admit it once.
func TestReplayAcrossLanesAtOnce(t *testing.T) {
	r, _ := replayRig(t, t.TempDir())
	code := green(t)
	results := make(chan passage.Verdict, 2)
	for _, lane := range []string{"in-1", "in-2"} {
		go func() {
			res, _ := r.g.Process(context.Background(), lane, code)
			results <- res.Passage.Decision
		}()
	}
	got := []passage.Verdict{<-results, <-results}
	slices.Sort(got)
	if !slices.Equal(got, []passage.Verdict{passage.Admit, passage.Refer}) {
		t.Errorf("got %v, want one admit and one refer", got)
	}
}

// recompress re-encodes a native code with another zlib level: the same
// signed credential in other bytes.
func recompress(t *testing.T, code []byte) []byte {
	t.Helper()
	z, err := base45.DecodeString(strings.TrimPrefix(string(code), healthcode.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.NoCompression)
	zw.Write(raw)
	zw.Close()
	return []byte(healthcode.Prefix + base45.EncodeToString(buf.Bytes()))
}

// TestReplayReencoded: the memory knows a code by what its issuer signed,
// so the same code in other bytes is still a replay, while another code of
// the same holder is not; and the file names no holder.
func TestReplayReencoded(t *testing.T) {
	dir := t.TempDir()
	r, mem := replayRig(t, dir)
	code := green(t)
	other := recompress(t, code)
	if bytes.Equal(code, other) {
		t.Fatal("the re-encoded code has the same bytes")
	}
	wantVerdict(t, "first showing", pass(t, r, "in-1", code), passage.Admit, "")
	wantVerdict(t, "re-encoded copy", pass(t, r, "in-2", other), passage.Refer, justUsed)
	mem.Close()
	b, err := os.ReadFile(filepath.Join(dir, replay.File))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ZJ:1", "ZJ", "Zhang"} {
		if bytes.Contains(b, []byte(id)) {
			t.Errorf("the replay file holds %q", id)
		}
	}
}

// TestReplayOverride: a guard who sees that the person is the code's
// holder (the turnstile timed out) admits them with an override.
func TestReplayOverride(t *testing.T) {
	r, _ := replayRig(t, t.TempDir())
	code := green(t)
	wantVerdict(t, "first showing", pass(t, r, "in-1", code), passage.Admit, "")
	r.clock.advance(10 * time.Second)
	wantVerdict(t, "second showing", pass(t, r, "in-1", code), passage.Refer, justUsed)
	res, err := r.g.Override(context.Background(), "in-1", "246810", OverrideTerminalFault)
	if err != nil || res.Passage.Decision != passage.Admit {
		t.Fatalf("override: got %v, %v, want admit", res.Passage, err)
	}
}
