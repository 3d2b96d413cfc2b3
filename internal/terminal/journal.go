package terminal

import (
	"time"

	"sentinel/internal/passage"
	"sentinel/internal/ui"
	"sentinel/sync/journal"
)

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
