package healthcode

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"sentinel/crypto/cose"

	"github.com/fxamacker/cbor/v2"
)

func TestSkip(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want int // length of the first item; -1: refused
	}{
		{"small uint", "17", 1},
		{"uint8", "1818", 2},
		{"uint16", "190100", 3},
		{"uint32", "1a00010000", 5},
		{"uint64", "1b0000000100000000", 9},
		{"negative", "3a00010000", 5},
		{"bytes", "43010203", 4},
		{"text", "6161", 2},
		{"array", "8301820203a0", 6},
		{"map", "a201020304", 5},
		{"tag", "d8186161", 4},
		{"float64", "fb3ff8000000000000", 9},
		{"false", "f4", 1},
		{"simple 255", "f8ff", 2},
		{"trailing ignored", "0102", 1},
		{"truncated head", "19", -1},
		{"truncated bytes", "4401", -1},
		{"truncated array", "8201", -1},
		{"huge length", "5bffffffffffffffff", -1},
		{"indefinite bytes", "5f4101ff", -1},
		{"indefinite map", "bfff", -1},
		{"reserved ai", "1c", -1},
		{"invalid simple", "f801", -1},
		{"text not UTF-8", "61ff", -1},
		{"empty", "", -1},
		{"too deep", strings.Repeat("81", maxDepth+1) + "00", -1},
		{"deepest", strings.Repeat("81", maxDepth) + "00", maxDepth + 1},
		{"tags count as levels", strings.Repeat("81", maxDepth) + "d81800", -1},
		{"tag at the deepest level", strings.Repeat("81", maxDepth-1) + "d81800", maxDepth + 2},
		{"bignum", "c24101", 3},
		{"epoch time on text", "c16161", -1},
		{"date time on integer", "c001", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.hex)
			n, err := skip(b, 0)
			if tc.want < 0 {
				if err == nil {
					t.Errorf("got length %d, want an error", n)
				}
				return
			}
			if err != nil || n != tc.want {
				t.Errorf("got %d, %v; want %d", n, err, tc.want)
			}
			// The general library agrees on well-formed items.
			var v any
			if rest, err := cbor.UnmarshalFirst(b, &v); err != nil || len(b)-len(rest) != n {
				t.Errorf("cbor library: item of %d bytes (%v), this reader %d", len(b)-len(rest), err, n)
			}
		})
	}
}

func TestReadInt(t *testing.T) {
	for _, tc := range []struct {
		hex  string
		want int64
		ok   bool
	}{
		{"00", 0, true}, {"20", -1, true}, {"3a00010000", -65537, true},
		{"1b7fffffffffffffff", 1<<63 - 1, true}, {"3b7fffffffffffffff", -1 << 63, true},
		{"1b8000000000000000", 0, false}, {"3b8000000000000000", 0, false}, {"6161", 0, false},
	} {
		b, _ := hex.DecodeString(tc.hex)
		got, _, err := readInt(b)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("readInt(%s): got %d, %v; want %d, ok=%v", tc.hex, got, err, tc.want, tc.ok)
		}
	}
}

func TestAppendHead(t *testing.T) {
	for _, arg := range []uint64{0, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<64 - 1} {
		b := appendHead(nil, majorUint, arg)
		want, _ := cbor.Marshal(arg)
		if !bytes.Equal(b, want) {
			t.Errorf("appendHead(%d): got %x, want %x", arg, b, want)
		}
		if got, n, err := readUint(b); err != nil || got != arg || n != len(b) {
			t.Errorf("readUint(%x): got %d (%d bytes), %v; want %d", b, got, n, err, arg)
		}
	}
}

// TestParseSign1 holds the hand parser to cose.Parse on the wrappings a
// COSE_Sign1 may come in.
func TestParseSign1(t *testing.T) {
	f := newFixture(t, "ZJ", edKey("issuer ZJ"))
	tagged := mustBytes(t, f.issue(t, greenClaims()))
	untagged := tagged[1:] // d2 is tag 18
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"tag 18", tagged, true},
		{"untagged", untagged, true},
		{"tag 61 around tag 18", append([]byte{0xd8, 0x3d}, tagged...), true},
		{"tag 61 alone", append([]byte{0xd8, 0x3d}, untagged...), true},
		{"tag 17 (COSE_Mac0)", append([]byte{0xd1}, untagged...), false},
		{"tag 18 twice", append([]byte{0xd2}, tagged...), false},
		{"array of three", append([]byte{0x83}, untagged[1:]...), false},
		{"detached payload", bytes.Replace(untagged, []byte{0xa0, 0x58}, []byte{0xa0, 0xf6, 0x58}, 1), false},
		{"trailing byte", append(bytes.Clone(tagged), 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m cose.Sign1
			err := parseSign1(tc.b, &m)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				return
			}
			ref, err := cose.Parse(tc.b)
			if err != nil {
				t.Fatalf("cose.Parse refuses what parseSign1 accepts: %v", err)
			}
			if !bytes.Equal(ref.Payload, m.Payload) || !bytes.Equal(ref.KID(), m.KID()) || !bytes.Equal(ref.Signature, m.Signature) {
				t.Errorf("got %+v, cose.Parse %+v", m, *ref)
			}
			if err := m.Verify(edKey("issuer ZJ").Public()); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestSameKey(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"3830", "390030", true}, // -49, shortest and not
		{"01", "1801", true},
		{"01", "21", false},
		{"6161", "61" + "62", false},
		{"6161", "780161", true},
		{"6161", "6162", false},
		{"01", "6101", false},
	} {
		a, _ := hex.DecodeString(tc.a)
		b, _ := hex.DecodeString(tc.b)
		if got := sameKey(a, b); got != tc.want {
			t.Errorf("sameKey(%s, %s): got %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
