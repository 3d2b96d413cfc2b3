package central

import (
	"errors"
	"testing"
	"time"
)

func recs(from, to uint64) []Record {
	var out []Record
	for s := from; s <= to; s++ {
		out = append(out, Record{Seq: s, Stored: []byte{byte(s)}, Time: time.Unix(int64(s), 0)})
	}
	return out
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name      string
		hw        uint64
		recs      []Record
		wantFirst uint64 // 0: nothing to store
		wantN     int
		wantHW    uint64
		wantGap   bool
	}{
		{"empty", 4, nil, 0, 0, 4, false},
		{"first batch", 0, recs(1, 3), 1, 3, 3, false},
		{"next", 3, recs(4, 6), 4, 3, 6, false},
		{"same again", 6, recs(4, 6), 0, 0, 6, false},
		{"older", 6, recs(1, 2), 0, 0, 6, false},
		{"overlap", 6, recs(5, 9), 7, 3, 9, false},
		{"gap", 6, recs(8, 9), 0, 0, 6, true},
		{"gap on new epoch", 0, recs(2, 2), 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest, hw, err := Plan("t1", Epoch{1}, tt.hw, tt.recs)
			var gap *GapError
			if got := errors.As(err, &gap); got != tt.wantGap {
				t.Fatalf("got error %v, want gap %v", err, tt.wantGap)
			}
			if gap != nil && (gap.HighWater != tt.hw || gap.First != tt.recs[0].Seq) {
				t.Errorf("got %+v, want mark %d, first %d", *gap, tt.hw, tt.recs[0].Seq)
			}
			if hw != tt.wantHW || len(rest) != tt.wantN {
				t.Fatalf("got %d records, mark %d; want %d, %d", len(rest), hw, tt.wantN, tt.wantHW)
			}
			if len(rest) > 0 && rest[0].Seq != tt.wantFirst {
				t.Errorf("got first %d, want %d", rest[0].Seq, tt.wantFirst)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := recs(3, 5)
	bad := func(edit func(r []Record)) []Record { r := recs(3, 5); edit(r); return r }
	tests := []struct {
		name   string
		device string
		recs   []Record
		valid  bool
	}{
		{"ok", "t1", ok, true},
		{"empty batch", "t1", nil, true},
		{"no device", "", ok, false},
		{"seq 0", "t1", bad(func(r []Record) { r[0].Seq = 0 }), false},
		{"hole", "t1", bad(func(r []Record) { r[2].Seq = 9 }), false},
		{"repeat", "t1", bad(func(r []Record) { r[1].Seq = 3 }), false},
		{"no bytes", "t1", bad(func(r []Record) { r[1].Stored = nil }), false},
		{"no time", "t1", bad(func(r []Record) { r[2].Time = time.Time{} }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.device, tt.recs)
			if (err == nil) != tt.valid || (err != nil && !errors.Is(err, ErrMalformed)) {
				t.Fatalf("got %v, want valid %v", err, tt.valid)
			}
		})
	}
}

func TestParseEpoch(t *testing.T) {
	e := Epoch{0xde, 0xad, 15: 0x01}
	got, err := ParseEpoch(e.String())
	if err != nil || got != e {
		t.Fatalf("ParseEpoch(%s): got %v, %v; want %v", e, got, err, e)
	}
	for _, s := range []string{"", "zz", e.String()[:30], e.String() + "00"} {
		if _, err := ParseEpoch(s); err == nil {
			t.Errorf("ParseEpoch(%q): got no error", s)
		}
	}
}
