package ui

import (
	"encoding/json"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
)

// BenchmarkShowSnapshot is what one passage costs the daemon: Show, then
// one snapshot rendered and encoded for one open page.
func BenchmarkShowSnapshot(b *testing.B) {
	s := New(Options{Lanes: []string{"in-1", "out-1"}, Now: func() time.Time { return t0 }})
	s.SetStatus(Status{Online: true, LastSync: t0.Add(-time.Minute), Lanes: []LaneStatus{{Name: "in-1", Scanner: DeviceOK}},
		Bundles: []Bundle{{Kind: trust.KindTrust, Freshness: trust.FreshnessFresh}, {Kind: trust.KindStatusBase, Freshness: trust.FreshnessGrace}}})
	v := Shown{Lane: "in-1", Verdict: passage.Deny, Colour: credential.ColourRed, MaskedName: "Li *", Reasons: []string{"colour-red"},
		Message: map[string]string{"en": "Red code. Refuse entry.", "zh": "红码。拒绝通行。"}}
	b.ReportAllocs()
	for b.Loop() {
		s.Show(v)
		s.mu.Lock()
		snap := s.snapshot(LangZH)
		s.mu.Unlock()
		if _, err := json.Marshal(snap); err != nil {
			b.Fatal(err)
		}
	}
}
