package fleet

import (
	"fmt"
	"time"

	"sentinel/internal/central"
)

// Fork is a fork of a terminal's journal as the fleet views show it: the
// terminal ran on a restored or cloned copy of its data, and the copy's
// passages from At on are kept under Branch.
type Fork struct {
	// Epoch is the journal epoch (or earlier branch) the copies share up
	// to At-1; Journal the epoch the terminal's records carry.
	Epoch   string `json:"epoch"`
	Journal string `json:"journal"`
	At      uint64 `json:"at"`
	// Mark is how far the centre held Epoch when it found the fork.
	Mark   uint64    `json:"centre_mark"`
	Branch string    `json:"branch"`
	Found  time.Time `json:"found"`
}

// Forks returns the fleet view of fs, never nil.
func Forks(fs []central.Fork) []Fork {
	out := make([]Fork, 0, len(fs))
	for _, f := range fs {
		out = append(out, Fork{Epoch: f.Epoch.String(), Journal: f.Journal.String(), At: f.At, Mark: f.Mark,
			Branch: f.Branch.String(), Found: f.Found.UTC()})
	}
	return out
}

// Text says what a fork means, in a line for ops.
func (f *Fork) Text() string {
	return fmt.Sprintf("journal %s forked at record %d (the centre held up to %d) on %s: the terminal ran on a restored or cloned copy of its data; that copy's passages from %d on are kept under epoch %s",
		short(f.Epoch), f.At, f.Mark, f.Found.Format(time.RFC3339), f.At, short(f.Branch))
}

// ForksText is the fleet table's cell: "-" or the count and the last.
func ForksText(fs []Fork) string {
	if len(fs) == 0 {
		return "-"
	}
	last := fs[len(fs)-1]
	return fmt.Sprintf("%d (last %s at %d)", len(fs), last.Found.Format(time.RFC3339), last.At)
}

func short(hex string) string {
	if len(hex) > 12 {
		return hex[:12] + "…"
	}
	return hex
}
