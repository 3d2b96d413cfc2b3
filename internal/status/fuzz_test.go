package status

import (
	"testing"
	"time"

	"sentinel/crypto/credential"
)

func fuzzSeeds(f *testing.F, base bool) {
	w := validWire(f)
	if base {
		w.RemoveNative, w.RemovePseudonyms, w.Unrevoke = nil, nil, nil
	}
	f.Add(encode(f, &w))
	w.Native[0].Count = 1 << 20
	f.Add(encode(f, &w))
	f.Add(encode(f, &wirePayload{Format: 1}))
	// A range travels as roaring runs.
	rb := NewBuilder()
	for i := uint32(70_000); i < 70_500; i++ {
		if err := rb.SetNative("GD", i, Entry{Status: Withheld, Effective: t0}); err != nil {
			f.Fatal(err)
		}
	}
	if !base {
		if err := rb.RemoveNative("GD", 1<<20); err != nil {
			f.Fatal(err)
		}
	}
	data, err := rb.MarshalDelta()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{0xa1, 0x01, 0x01})
	f.Add([]byte{})
}

// fuzzApply applies a payload that parsed and looks a few holders up: no
// panic whatever the bytes.
func fuzzApply(t *testing.T, p *Payload) {
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.delta {
		if err := l.ApplyBasePayload(1, &Payload{}); err != nil {
			t.Fatal(err)
		}
		_ = l.ApplyDeltaPayload(1, 2, p)
	} else {
		_ = l.ApplyBasePayload(1, p)
	}
	for _, g := range p.groups {
		for _, x := range g.idx[:min(len(g.idx), 4)] {
			l.Lookup(credential.Holder{Kind: credential.HolderNative, Issuer: g.issuer, Index: x}, time.Unix(0, 0), time.Unix(1<<31, 0))
		}
	}
	l.Prune(time.Unix(1<<31, 0))
}

func FuzzParseBase(f *testing.F) {
	fuzzSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseBase(data)
		if err != nil {
			if p != nil {
				t.Fatal("payload with an error")
			}
			return
		}
		fuzzApply(t, p)
	})
}

func FuzzParseDelta(f *testing.F) {
	fuzzSeeds(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseDelta(data)
		if err != nil {
			if p != nil {
				t.Fatal("payload with an error")
			}
			return
		}
		fuzzApply(t, p)
	})
}
