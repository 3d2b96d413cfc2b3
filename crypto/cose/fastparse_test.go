package cose

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"reflect"
	"testing"
)

// sameAsLib checks parseFast against the library on one message: what
// parseFast takes, the library takes into the same Sign1.
func sameAsLib(t *testing.T, in []byte) bool {
	t.Helper()
	body, err := stripTags(in)
	if err != nil {
		return false
	}
	var fast Sign1
	if !fast.parseFast(body) {
		if !reflect.DeepEqual(fast, Sign1{}) {
			t.Fatalf("parseFast refused the message but changed it: %+v", fast)
		}
		return false
	}
	if fast.tbs != nil {
		// A big payload sits at the end of the Sig_structure Parse made;
		// the library's parse makes none.
		if n := len(fast.Payload); len(fast.tbs) <= n || &fast.tbs[len(fast.tbs)-n] != &fast.Payload[0] ||
			!bytes.Equal(fast.tbs, appendSigStructure(nil, fast.RawProtected, fast.Payload)) {
			t.Fatal("parseFast's Sig_structure is not the message's")
		}
		fast.tbs = nil
	}
	var lib Sign1
	if err := lib.parseLib(body); err != nil {
		t.Fatalf("parseFast took a message the library refuses (%v)\n%x", err, in)
	}
	if !reflect.DeepEqual(fast, lib) {
		t.Fatalf("parseFast and the library disagree:\n%#v\n%#v\n%x", fast, lib, in)
	}
	return true
}

// TestParseFast: the messages we sign, and EU DCC's usual shapes (kid in
// the protected or the unprotected header, an empty protected header),
// take the fast path with the library's result; other shapes go to the
// library.
func TestParseFast(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good, err := Sign(nil, k, []byte("kid"), []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	m := func(items ...string) []byte {
		b := []byte{0x84}
		for _, it := range items {
			b = append(b, it...)
		}
		return b
	}
	taken := map[string][]byte{
		"signed here":     good,
		"kid unprotected": m("\x43\xa1\x01\x26", "\xa1\x04\x42ab", "\x41p", "\x42sg"),
		"kid in both":     m("\x46\xa2\x01\x26\x04\x41a", "\xa1\x04\x41a", "\x41p", "\x42sg"),
		"empty protected": m("\x40", "\xa2\x01\x26\x04\x41a", "\x41p", "\x42sg"),
		"empty kid":       m("\x45\xa2\x01\x26\x04\x40", "\xa0", "\x41p", "\x42sg"),
		"PS256":           m("\x44\xa1\x01\x38\x24", "\xa0", "\x41p", "\x42sg"),
		"long payload":    m("\x43\xa1\x01\x26", "\xa0", "\x59\x00\x03abc", "\x42sg"),
	}
	for name, in := range taken {
		if !sameAsLib(t, in) {
			t.Errorf("%s: not taken by the fast path", name)
		}
	}
	left := map[string][]byte{
		"other header":        m("\x43\xa1\x03\x00", "\xa0", "\x41p", "\x42sg"),
		"text kid":            m("\x43\xa1\x01\x26", "\xa1\x04\x61a", "\x41p", "\x42sg"),
		"duplicate alg":       m("\x45\xa2\x01\x26\x01\x26", "\xa0", "\x41p", "\x42sg"),
		"null payload":        m("\x43\xa1\x01\x26", "\xa0", "\xf6", "\x42sg"),
		"indefinite payload":  m("\x43\xa1\x01\x26", "\xa0", "\x5f\x41p\xff", "\x42sg"),
		"trailing byte":       append(m("\x43\xa1\x01\x26", "\xa0", "\x41p", "\x42sg"), 0),
		"protected not a map": m("\x41\x80", "\xa0", "\x41p", "\x42sg"),
		"cut short":           m("\x43\xa1\x01\x26", "\xa0", "\x45p"),
	}
	for name, in := range left {
		if sameAsLib(t, in) {
			t.Errorf("%s: taken by the fast path", name)
		}
	}
}

// FuzzParseFast: on any bytes, what parseFast takes the library takes the
// same way.
func FuzzParseFast(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good, _ := Sign(nil, k, []byte("kid"), []byte("payload"))
	f.Add(good)
	f.Add([]byte{0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Add([]byte{0x84, 0x43, 0xa1, 0x01, 0x26, 0xa1, 0x04, 0x42, 'a', 'b', 0x41, 'p', 0x42, 's', 'g'})
	f.Add([]byte{0x84, 0x46, 0xa2, 0x01, 0x26, 0x04, 0x41, 'a', 0xa1, 0x04, 0x41, 'a', 0x41, 'p', 0x40})
	f.Fuzz(func(t *testing.T, in []byte) { sameAsLib(t, in) })
}
