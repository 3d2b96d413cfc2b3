package camera

import (
	"bytes"
	"errors"
	"testing"
)

// bits builds data codewords from (value, width) fields.
func bits(fields ...[2]int) []byte {
	var out []byte
	var acc, n int
	for _, f := range fields {
		for i := f[1] - 1; i >= 0; i-- {
			acc = acc<<1 | (f[0]>>i)&1
			if n++; n == 8 {
				out = append(out, byte(acc))
				acc, n = 0, 0
			}
		}
	}
	if n > 0 {
		out = append(out, byte(acc<<(8-n)))
	}
	return out
}

func TestSegmentPayload(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		version int
		want    []byte
		wantErr error
	}{
		{"numeric 012345", bits([2]int{1, 4}, [2]int{6, 10}, [2]int{12, 10}, [2]int{345, 10}, [2]int{0, 4}), 1, []byte("012345"), nil},
		{"numeric 7 digits", bits([2]int{1, 4}, [2]int{7, 10}, [2]int{123, 10}, [2]int{456, 10}, [2]int{7, 4}), 1, []byte("1234567"), nil},
		{"alphanumeric AC-4", bits([2]int{2, 4}, [2]int{4, 9}, [2]int{10*45 + 12, 11}, [2]int{41*45 + 4, 11}), 1, []byte("AC-4"), nil},
		{"byte with ECI", bits([2]int{7, 4}, [2]int{3, 8}, [2]int{4, 4}, [2]int{2, 8}, [2]int{0xe9, 8}, [2]int{0x00, 8}), 1, []byte{0xe9, 0x00}, nil},
		{"byte, version 10 count", bits([2]int{4, 4}, [2]int{1, 16}, [2]int{'x', 8}), 10, []byte("x"), nil},
		{"two segments", bits([2]int{2, 4}, [2]int{2, 9}, [2]int{17*45 + 12, 11}, [2]int{4, 4}, [2]int{1, 8}, [2]int{':', 8}), 1, []byte("HC:"), nil},
		{"kanji needs transcoding", bits([2]int{8, 4}, [2]int{1, 8}, [2]int{0x1aa, 13}), 1, nil, errSegments},
		{"byte count past the end", bits([2]int{4, 4}, [2]int{200, 8}, [2]int{1, 8}), 1, nil, errSegments},
		{"bad version", []byte{0}, 41, nil, errSegments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := segmentPayload(tt.data, tt.version)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %q, %v, want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestFitHomography(t *testing.T) {
	want := homography{1.2, 0.3, 100, -0.2, 0.9, 50, 0.001, -0.0005, 1}
	var cs []correspondence
	for _, p := range [][2]float64{{0, 0}, {7, 0}, {0, 7}, {7, 7}, {30, 0}, {37, 7}, {0, 37}, {5, 30}} {
		x, y := want.apply(p[0], p[1])
		cs = append(cs, correspondence{p[0], p[1], x, y})
	}
	got, ok := fitHomography(cs)
	if !ok {
		t.Fatal("fit failed")
	}
	for _, p := range [][2]float64{{20, 20}, {40, 40}, {3.5, 33.5}} {
		gx, gy := got.apply(p[0], p[1])
		wx, wy := want.apply(p[0], p[1])
		if d := (gx-wx)*(gx-wx) + (gy-wy)*(gy-wy); d > 1e-6 {
			t.Errorf("at %v: got (%.3f, %.3f), want (%.3f, %.3f)", p, gx, gy, wx, wy)
		}
	}
	if _, ok := fitHomography(cs[:3]); ok {
		t.Error("fit with three points: got ok, want failure")
	}
}
