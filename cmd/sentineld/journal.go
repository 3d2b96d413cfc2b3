package main

import (
	"context"

	"sentinel/internal/gate"
	"sentinel/sync/journal"
)

// gateJournal lets the gate append to the passage journal.
type gateJournal struct{ j *journal.Journal }

var _ gate.Journal = gateJournal{}

// Append converts the gate's passage to the journal's and appends it.
func (g gateJournal) Append(ctx context.Context, p *gate.Passage) (uint64, error) {
	seq, err := g.j.Append(ctx, journalPassage(p))
	return uint64(seq), err
}

// journalPassage converts a passage. The journal keeps only whether a
// temperature was taken; why not is in the reason codes.
func journalPassage(p *gate.Passage) *journal.Passage {
	jp := &journal.Passage{
		Time: p.Time, ClockTrusted: p.ClockTrusted, Lane: p.Lane,
		Format: p.Format, Issuer: p.Issuer, KeyID: p.KeyID, Holder: p.Holder,
		CodeColour: p.CodeColour, StatusColour: p.StatusColour,
		Decision: journal.Decision(p.Verdict), Reasons: p.Reasons, PolicyVersion: p.PolicyVersion,
	}
	if p.Temperature.Available() {
		jp.Temperature = journal.Temperature{
			Available: true, Value: p.Temperature.Value, Ambient: p.Temperature.Ambient,
			Confidence: p.Temperature.Confidence,
		}
	}
	if len(p.BundleVersions) > 0 {
		jp.Bundles = make(map[string]uint64, len(p.BundleVersions))
		for k, v := range p.BundleVersions {
			if v > 0 {
				jp.Bundles[string(k)] = v
			}
		}
	}
	if p.Override != nil {
		jp.Override = &journal.Override{Who: p.Override.Guard, Why: p.Override.Reason, Of: journal.Seq(p.Override.Of)}
	}
	return jp
}
