package terminal

import (
	"context"
	"time"

	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/ui"
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
		Decision: p.Verdict, Reasons: p.Reasons, PolicyVersion: p.PolicyVersion,
	}
	if p.Temperature.Available() {
		jp.Temperature = p.Temperature
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

// countChunk is how many records todayCounts reads at a time, from the end.
const countChunk = 1024

// todayCounts rebuilds the display's counters of the site's day that holds
// at now from the journal, so that a restart does not zero them: reading
// back from the newest record until a whole chunk lies before the day's
// start. It counts as the display does: an override (not an admission),
// an admission, a refusal, a referral; a refused override attempt (a wrong
// PIN) is none of them.
func todayCounts(j *journal.Journal, now time.Time, loc *time.Location) (ui.Counts, error) {
	var c ui.Counts
	local := now.In(loc)
	start := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	end := start.AddDate(0, 0, 1)
	_, seqs, err := j.Tail(1)
	if err != nil || len(seqs) == 0 {
		return c, err
	}
	for to := seqs[0]; to > 0; {
		from := journal.Seq(1)
		if to > countChunk {
			from = to - countChunk + 1
		}
		inDay := false
		err := j.Range(from, to, func(_ journal.Seq, b []byte) error {
			r, err := journal.DecodeRecord(b)
			if err != nil {
				return nil // a damaged record is the journal's alarm, not a count
			}
			if r.Time.Before(start) || !r.Time.Before(end) {
				return nil
			}
			inDay = true
			switch {
			case r.Override != nil && r.Decision == passage.Admit:
				c.Overrides++
			case r.Override != nil:
				// a refused override attempt
			case r.Decision == passage.Admit:
				c.Admitted++
			case r.Decision == passage.Deny:
				c.Refused++
			default:
				c.Referred++
			}
			return nil
		})
		if err != nil {
			return c, err
		}
		if !inDay || from == 1 {
			break
		}
		to = from - 1
	}
	return c, nil
}
