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
