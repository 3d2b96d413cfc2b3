package gate

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/sync/journal"
)

// TestJournalPassage runs a refusal, a retake and an emergency override
// through the gate into the real journal and reads the records back:
// every field the journal keeps arrives as the gate decided it, a
// temperature other than a reading does not stop the append, and the
// override names the passage it overrides.
func TestJournalPassage(t *testing.T) {
	j, err := journal.Open(journal.Path(t.TempDir()), journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r := newRigOpts(t, func(s *State) {
		s.Status = fakeStatus{1: {Overridden: true, Status: "red", Effective: t0.Add(time.Minute)}}
	}, func(o *Options) { o.Journal = j })
	ctx := context.Background()

	res, err := r.g.Process(ctx, "in-1", green(t))
	if err != nil || !res.Committed || res.Seq != 1 || res.Passage.Decision != passage.Deny {
		t.Fatalf("refusal: seq %d committed %v %s %v, want 1 committed deny", res.Seq, res.Committed, res.Passage.Decision, err)
	}
	r.thermo.fail = &passage.Temperature{State: passage.TempRetake, Fault: passage.FaultUnstable}
	if res, err := r.g.Process(ctx, "in-1", issue(t, issuerKey, 2, credential.ColourGreen)); err != nil || !res.Committed || res.Seq != 2 {
		t.Fatalf("retake: seq %d committed %v %v, want 2 committed", res.Seq, res.Committed, err)
	}
	// The retake replaced the refusal on screen: refuse another person
	// and override that one.
	r.thermo.fail = nil
	if res, err := r.g.Process(ctx, "in-1", green(t)); err != nil || res.Seq != 3 {
		t.Fatalf("second refusal: seq %d %v, want 3", res.Seq, err)
	}
	if _, err := r.g.Override(ctx, "in-1", "246810", OverrideEmergency); err != nil {
		t.Fatalf("Override: %v", err)
	}

	recs, _, err := j.Tail(4)
	if err != nil || len(recs) != 4 {
		t.Fatalf("Tail: %d records %v, want 4", len(recs), err)
	}
	var got []*journal.Record
	for _, b := range recs {
		rec, err := journal.DecodeRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	wantBundles := map[string]uint64{}
	for _, k := range trust.Kinds() {
		wantBundles[string(k)] = 1
	}
	deny := got[0]
	if !deny.Time.Equal(t0.Add(time.Hour)) || !deny.ClockTrusted || deny.Lane != "in-1" || deny.Format != credential.FormatNative ||
		deny.Issuer != "ZJ" || len(deny.KeyID) == 0 || deny.CodeColour != credential.ColourGreen || deny.StatusColour != "red" ||
		deny.Decision != passage.Deny || !slices.Equal(deny.Reasons, []string{"status-red"}) || deny.Override != nil {
		t.Errorf("refusal recorded as %+v", deny)
	}
	if !maps.Equal(deny.Bundles, wantBundles) {
		t.Errorf("got bundles %v, want %v", deny.Bundles, wantBundles)
	}
	if retake := got[1]; retake.Decision != passage.Refer || !slices.Equal(retake.Reasons, []string{"temp-retake"}) {
		t.Errorf("retake recorded as %s %v, want refer for temp-retake", retake.Decision, retake.Reasons)
	}
	o := got[3]
	if o.Decision != passage.Admit || !slices.Equal(o.Reasons, []string{ReasonOverride}) || o.StatusColour != "red" ||
		o.Override == nil || o.Override.Who != "guard-1" || o.Override.Why != OverrideEmergency || o.Override.Of != 3 {
		t.Errorf("override recorded as %+v (override %+v), want admit by guard-1 for an emergency of 3", o, o.Override)
	}
}

// The status list's entry gives its colour only when it overrides the
// code and is a colour.
func TestStatusColour(t *testing.T) {
	for _, tt := range []struct {
		s    policy.Status
		want credential.Colour
	}{
		{policy.Status{}, credential.ColourNone},
		{policy.Status{Status: "red"}, credential.ColourNone},
		{policy.Status{Overridden: true, Status: "red"}, credential.ColourRed},
		{policy.Status{Overridden: true, Status: "withheld"}, credential.ColourNone},
	} {
		if got := tt.s.Colour(); got != tt.want {
			t.Errorf("%+v: got %s, want %s", tt.s, got, tt.want)
		}
	}
}
