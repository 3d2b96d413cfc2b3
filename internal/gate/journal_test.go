package gate

import (
	"context"
	"slices"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
)

// TestJournalPassage appends a passage as the gate does to the real
// journal and reads it back: every field the journal keeps arrives.
func TestJournalPassage(t *testing.T) {
	j, err := journal.Open(journal.Path(t.TempDir()), journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	p := &Passage{
		Time: at, ClockTrusted: true, Lane: "in-1", Format: credential.FormatNative, Issuer: "ZJ", KeyID: []byte{1, 2},
		Holder:     credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: 7},
		CodeColour: credential.ColourGreen, StatusColour: "red",
		Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 37*physic.Celsius, Ambient: physic.ZeroCelsius + 24*physic.Celsius, Confidence: 0.8},
		Verdict:     passage.Admit, Reasons: []string{ReasonOverride}, PolicyVersion: 3,
		BundleVersions: map[trust.Kind]uint64{trust.KindTrust: 2, trust.KindStatusDelta: 0},
		Override:       &Override{Guard: "guard-1", Reason: OverrideRetakeNormal, Of: 41},
	}
	seq, err := j.Append(context.Background(), p.journalPassage())
	if err != nil || seq != 1 {
		t.Fatalf("Append: %d %v, want 1", seq, err)
	}
	recs, _, err := j.Tail(1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := journal.DecodeRecord(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !r.Time.Equal(at) || !r.ClockTrusted || r.Lane != "in-1" || r.Format != credential.FormatNative || r.Issuer != "ZJ" ||
		r.CodeColour != credential.ColourGreen || r.StatusColour != "red" || r.Decision != passage.Admit ||
		!slices.Equal(r.Reasons, []string{ReasonOverride}) || r.PolicyVersion != 3 {
		t.Errorf("got record %+v", r)
	}
	if len(r.Bundles) != 1 || r.Bundles["trust"] != 2 {
		t.Errorf("got bundles %v, want trust 2 only", r.Bundles)
	}
	if r.Override == nil || r.Override.Who != "guard-1" || r.Override.Why != OverrideRetakeNormal || r.Override.Of != 41 {
		t.Errorf("got override %+v", r.Override)
	}
}
