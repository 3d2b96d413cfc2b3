package central

import (
	"fmt"
	"testing"
)

// chained returns records from..to with stored bytes naming seq and tag
// and a Hash naming them, as the sync server passes them.
func chained(from, to uint64, tag string) []Record {
	var out []Record
	for s := from; s <= to; s++ {
		r := Record{Seq: s, Stored: fmt.Appendf(nil, "%d %s", s, tag)}
		copy(r.Hash[:], r.Stored)
		out = append(out, r)
	}
	return out
}

// TestFindFork: records held are compared byte for byte; a run the store
// no longer holds (retention) is judged by the chain to the next held
// record or to the mark's hash, and put at the fork when it cannot be
// judged, so that a restored copy whose records fall where the centre
// purged its own loses nothing.
func TestFindFork(t *testing.T) {
	held := func(purged ...uint64) func(uint64) ([]byte, bool, error) {
		return func(seq uint64) ([]byte, bool, error) {
			for _, p := range purged {
				if p == seq {
					return nil, false, nil
				}
			}
			return fmt.Appendf(nil, "%d a", seq), true, nil
		}
	}
	mark := Link{Seq: 20}
	copy(mark.Hash[:], "20 a")
	mix := func(a, b []Record) []Record { return append(append([]Record(nil), a...), b...) }
	broken := chained(5, 12, "a")
	broken[3].Break = "record does not link"
	plain := recs(5, 12)
	tests := []struct {
		name   string
		recs   []Record
		purged []uint64
		want   uint64
	}{
		{"all held, same", chained(5, 25, "a"), nil, 0},
		{"all held, differs at 9", mix(chained(5, 8, "a"), chained(9, 25, "b")), nil, 9},
		{"purged run, then a held match", chained(5, 12, "a"), []uint64{5, 6, 7}, 0},
		{"purged run, then a held record that differs", mix(chained(5, 7, "a"), chained(8, 12, "b")), []uint64{5, 6, 7}, 5},
		{"purged run that does not link to the held match", broken, []uint64{5, 6, 7, 8}, 5},
		{"purged up to the mark, its hash matches", chained(15, 22, "a"), []uint64{15, 16, 17, 18, 19, 20}, 0},
		{"purged up to the mark, its hash differs", chained(15, 22, "b"), []uint64{15, 16, 17, 18, 19, 20}, 15},
		{"purged run to the batch's end below the mark", mix(chained(5, 9, "a"), chained(10, 12, "b")), []uint64{10, 11, 12}, 10},
		{"purged run without hashes (plain ingest)", plain, []uint64{5, 6, 7, 8, 9, 10, 11, 12}, 0},
		{"past the mark only", chained(21, 25, "b"), nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, stored, err := FindFork(mark, tc.recs, held(tc.purged...))
			if err != nil || at != tc.want {
				t.Fatalf("got fork at %d (%v), want %d", at, err, tc.want)
			}
			if at > 0 && string(stored) != string(tc.recs[at-tc.recs[0].Seq].Stored) {
				t.Fatalf("got stored %q, want the batch's record %d", stored, at)
			}
		})
	}
}
