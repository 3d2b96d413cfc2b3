package protocol_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/cose"
	"sentinel/sync/protocol"
)

func sampleHealth() *protocol.Health {
	return &protocol.Health{
		Version: protocol.Version, Device: "term-1", Time: time.UnixMilli(1790000000123).UTC(),
		Software: "1.2.3", Last: 40, Acked: 32, Alarms: 2,
		Bundles: []protocol.BundleHealth{{Kind: "trust", Version: 7, Freshness: "fresh"}, {Kind: "status", Version: 3, Freshness: "stale"}},
		Lanes: []protocol.LaneHealth{
			{Name: "scanner", State: protocol.LaneOK},
			{Name: "camera", State: protocol.LaneMissing, Reason: "not configured"},
			{Name: "thermometer", State: protocol.LaneUnavailable, Reason: "no answer on /dev/ttyUSB0"},
		},
	}
}

func TestHealthRoundTrip(t *testing.T) {
	h := sampleHealth()
	b, err := protocol.EncodeHealth(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := protocol.DecodeHealth(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Errorf("got %+v, want %+v", got, h)
	}
	if got.Backlog() != 8 {
		t.Errorf("backlog: got %d, want 8", got.Backlog())
	}
}

func TestHealthRefused(t *testing.T) {
	enc := func(v any) []byte {
		b, err := cose.EncMode().Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good, _ := protocol.EncodeHealth(sampleHealth())
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"empty", nil, protocol.ErrMalformed},
		{"trailing", append(append([]byte{}, good...), 0), protocol.ErrMalformed},
		{"too large", make([]byte, protocol.MaxHealth+1), protocol.ErrTooLarge},
		{"version", enc(map[int]any{1: 9, 2: "d", 3: 1}), protocol.ErrVersion},
		{"no device", enc(map[int]any{1: 1, 3: 1}), protocol.ErrMalformed},
		{"no time", enc(map[int]any{1: 1, 2: "d"}), protocol.ErrMalformed},
		{"unknown field", enc(map[int]any{1: 1, 2: "d", 3: 1, 99: 1}), protocol.ErrMalformed},
		{"bad lane state", enc(map[int]any{1: 1, 2: "d", 3: 1, 9: []any{map[int]any{1: "scanner", 2: "broken"}}}), protocol.ErrMalformed},
		{"long reason", enc(map[int]any{1: 1, 2: "d", 3: 1, 9: []any{map[int]any{1: "scanner", 2: "ok", 3: strings.Repeat("x", protocol.MaxHealthText+1)}}}), protocol.ErrMalformed},
		{"unnamed bundle", enc(map[int]any{1: 1, 2: "d", 3: 1, 8: []any{map[int]any{2: 1}}}), protocol.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := protocol.DecodeHealth(tt.body)
			var pe *protocol.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &pe) {
				t.Errorf("got %v, want %v as *protocol.Error", err, tt.want)
			}
		})
	}
	if _, err := protocol.EncodeHealth(&protocol.Health{Device: "d"}); !errors.Is(err, protocol.ErrMalformed) {
		t.Errorf("encode without time: got %v, want ErrMalformed", err)
	}
}

func TestClockOffset(t *testing.T) {
	recv := time.Unix(1000, 0)
	tests := []struct {
		name   string
		device time.Time
		rtt    time.Duration
		want   time.Duration
	}{
		{"in step", recv, 0, 0},
		{"ahead", recv.Add(5 * time.Second), 0, 5 * time.Second},
		{"behind with transit", recv.Add(-time.Second), 200 * time.Millisecond, -900 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := protocol.ClockOffset(tt.device, recv, tt.rtt); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzDecodeHealth(f *testing.F) {
	good, _ := protocol.EncodeHealth(sampleHealth())
	f.Add(good)
	min, _ := protocol.EncodeHealth(&protocol.Health{Device: "d", Time: time.Unix(1, 0)})
	f.Add(min)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := protocol.DecodeHealth(b)
		if err != nil {
			var pe *protocol.Error
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := protocol.EncodeHealth(h)
		if err != nil {
			t.Fatalf("decoded report does not encode: %v", err)
		}
		if string(again) != string(b) {
			t.Fatalf("re-encoding differs")
		}
	})
}
