package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/server"
	"sentinel/internal/demo"
	"sentinel/internal/passage"
	"sentinel/internal/ptytest"
	"sentinel/sync/journal"
)

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs the demonstration in-process: every code through the real
// camera decoder or the serial driver on a pseudo-terminal, the replayed
// thermometer, the real verifier, status list, policy and journal.
func TestDemo(t *testing.T) {
	ptytest.Need(t, "the demo's serial lane")
	dir := t.TempDir()
	var stdout, stderr syncBuffer
	code := Run(context.Background(), []string{"-once", "-data-dir", dir}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	want := []struct{ lane, kind, verdict, reason string }{
		{demo.CameraLane, "green", "admit", "-"},
		{demo.CameraLane, "yellow", "deny", "colour-yellow"},
		{demo.CameraLane, "red", "deny", "colour-red"},
		{demo.CameraLane, "expired", "deny", "verification:expired"},
		{demo.CameraLane, "forged", "deny", "verification:unknown-key"},
		{demo.CameraLane, "eu-dcc", "admit", "-"},
		{demo.SerialLane, "revoked", "deny", "status-red"},
		{demo.SerialLane, "fever", "refer", "fever"},
		{demo.SerialLane, "rolling", "admit", "-"}, // read twice: one passage
		{demo.SerialLane, "shc", "admit", "-"},     // three chunks assembled
	}
	out := stdout.String()
	if strings.Contains(out, "UNEXPECTED") {
		t.Errorf("a verdict differs from the policy's:\n%s", out)
	}
	byKind := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && (f[0] == demo.CameraLane || f[0] == demo.SerialLane) {
			byKind[f[1]] = f
		}
	}
	for _, w := range want {
		f := byKind[w.kind]
		if f == nil {
			t.Errorf("%s: no passage printed\n%s", w.kind, out)
			continue
		}
		if f[0] != w.lane || f[2] != w.verdict || f[len(f)-1] != w.reason {
			t.Errorf("%s: got %v, want %s %s %s", w.kind, f, w.lane, w.verdict, w.reason)
		}
	}
	if !strings.Contains(out, "37.8 °C") {
		t.Errorf("the fever's temperature is not printed:\n%s", out)
	}

	// Every passage is in the journal, whose chain verifies.
	r, err := journal.OpenReader(journal.Path(dir), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := r.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if v.Records != len(want) || v.Break != nil {
		t.Fatalf("journal holds %d records (break %v), want %d and an unbroken chain", v.Records, v.Break, len(want))
	}
	decisions := map[string][]string{}
	err = r.Range(1, 0, func(seq journal.Seq, b []byte) error {
		rec, err := journal.DecodeRecord(b)
		if err != nil {
			return err
		}
		decisions[rec.Lane] = append(decisions[rec.Lane], string(rec.Decision))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fever was journalled, sealed to the centre's key.
	keyHex, err := os.ReadFile(filepath.Join(dir, demo.CentreKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	keyBytes, err := hex.DecodeString(strings.TrimSpace(string(keyHex)))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := hpke.DHKEM(ecdh.X25519()).NewPrivateKey(keyBytes)
	if err != nil {
		t.Fatal(err)
	}
	opener := journal.NewOpener(priv)
	keys, err := r.Keys()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := opener.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	fevers := 0
	err = r.Range(1, 0, func(seq journal.Seq, b []byte) error {
		rec, err := journal.DecodeRecord(b)
		if err != nil {
			return err
		}
		c, err := opener.Open(rec)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		if c.Temperature.Available() && c.Temperature.Value.Celsius() >= 37.3 {
			fevers++
			if rec.Decision != passage.Refer || c.Holder.String() != "ZJ:1008" {
				t.Errorf("fever record: %s for %s, want refer for ZJ:1008", rec.Decision, c.Holder)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fevers != 1 {
		t.Errorf("got %d sealed fevers in the journal, want 1", fevers)
	}

	wantDecisions := map[string][]string{}
	for _, w := range want {
		wantDecisions[w.lane] = append(wantDecisions[w.lane], w.verdict)
	}
	for lane, ds := range wantDecisions {
		if got := strings.Join(decisions[lane], " "); got != strings.Join(ds, " ") {
			t.Errorf("journal at %s: got %s, want %s", lane, got, strings.Join(ds, " "))
		}
	}

	// The embedded centre received every passage exactly once, from the
	// device enrolment named, with the sealed holders opened.
	m := regexp.MustCompile(`(?m)^central: (\d+) passages received from (t-[0-9a-f]+) \(exactly once\), (\d+) holders opened$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no central line saying every passage arrived exactly once:\n%s", out)
	}
	if m[1] != fmt.Sprint(len(want)) {
		t.Errorf("central line: got %s passages, want %d", m[1], len(want))
	}
	st, err := boltstore.Open(filepath.Join(dir, demo.CentreDir, server.StoreFile), &boltstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("the central's store: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	devs, err := st.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].ID != m[2] || len(devs[0].Marks) != 1 {
		t.Fatalf("got central devices %+v, want one, %s, with one epoch", devs, m[2])
	}
	if hw, err := st.HighWater(ctx, m[2], devs[0].Marks[0].Epoch); err != nil || hw != uint64(len(want)) {
		t.Errorf("got high-water %d (%v), want %d", hw, err, len(want))
	}
	seqs := map[uint64]int{}
	holders := map[string]string{}
	for p, err := range st.Passages(ctx, central.Filter{Device: m[2]}) {
		if err != nil {
			t.Fatal(err)
		}
		seqs[p.Seq]++
		if p.Holder != "" {
			holders[p.Holder] = p.Decision
		}
	}
	for seq := uint64(1); seq <= uint64(len(want)); seq++ {
		if seqs[seq] != 1 {
			t.Errorf("central holds record %d %d times, want once", seq, seqs[seq])
		}
	}
	if len(seqs) != len(want) {
		t.Errorf("central holds %d distinct records, want %d", len(seqs), len(want))
	}
	if got := holders["ZJ:1008"]; got != string(passage.Refer) {
		t.Errorf("central: the fever's holder ZJ:1008 got decision %q, want %q (holders %v)", got, passage.Refer, holders)
	}
	// Each opened holder is one passage here: no holder passes twice.
	if m[3] != fmt.Sprint(len(holders)) {
		t.Errorf("central line: got %s holders opened, want %d", m[3], len(holders))
	}
	st.Close()
	r.Close()

	// The demo runs again on the same directory (issue 8: it failed,
	// counting the first run's passages as this one's): a new terminal,
	// the earlier one's data kept aside, this run's passages at the
	// centre exactly once, the same static codes admitted again. It is
	// named relative to the working directory, as a reader types it
	// (-data-dir demo-data: refused with "data_dir: must be an absolute
	// path" before).
	t.Chdir(filepath.Dir(dir))
	stdout, stderr = syncBuffer{}, syncBuffer{}
	if code := Run(context.Background(), []string{"-demo-once", "-data-dir", filepath.Base(dir)}, &stdout, &stderr); code != exitOK {
		t.Fatalf("second run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out2 := stdout.String()
	m2 := regexp.MustCompile(`(?m)^central: (\d+) passages received from (t-[0-9a-f]+) \(exactly once\)`).FindStringSubmatch(out2)
	if m2 == nil || m2[1] != fmt.Sprint(len(want)) || m2[2] == m[2] || strings.Contains(out2, "UNEXPECTED") {
		t.Fatalf("second run: want %d passages from a new terminal, every verdict as the policy gives:\n%s", len(want), out2)
	}
	prev, _ := filepath.Glob(filepath.Join(dir, demo.RunsDir, "*", journal.FileName))
	if len(prev) != 1 || !strings.Contains(out2, filepath.Dir(prev[0])) {
		t.Fatalf("second run: earlier journals kept %v, want the first run's, named in the output:\n%s", prev, out2)
	}
	pr, err := journal.OpenReader(prev[0], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if v, err := pr.Verify(); err != nil || v.Records != len(want) || v.Break != nil {
		t.Errorf("the first run's journal: %+v, %v; want %d records, unbroken", v, err, len(want))
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"-nope"}, exitUsage},
		{[]string{"-log-level", "loud"}, exitUsage},
		{[]string{"extra"}, exitUsage},
		{[]string{"-h"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			if got := Run(context.Background(), tt.args, io.Discard, &stderr); got != tt.want {
				t.Errorf("got exit %d, want %d\n%s", got, tt.want, stderr.String())
			}
		})
	}
}
