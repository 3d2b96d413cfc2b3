package camtest

import (
	"bytes"
	"testing"
)

func TestRenderIsDeterministic(t *testing.T) {
	s := Spec{Width: 160, Height: 120, Payload: Payloads()[1], ECC: "M", Variant: Persp20, Seed: 9}
	a, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Error("two renders of one spec differ")
	}
	s.Seed++
	c, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Pix, c.Pix) {
		t.Error("renders with different seeds are identical")
	}
}

func TestSetComposition(t *testing.T) {
	set := Set()
	names := map[string]bool{}
	count := map[Variant]int{}
	for _, s := range set {
		if names[s.Name()] {
			t.Errorf("duplicate frame name %s", s.Name())
		}
		names[s.Name()] = true
		count[s.Variant]++
		if (s.Want() == nil) != (s.Variant == Empty) {
			t.Errorf("%s: got want %q for variant %s", s.Name(), s.Want(), s.Variant)
		}
	}
	perVariant := SetReps * len(Sizes) * len(Payloads()) * len(ECCLevels)
	for _, v := range Variants {
		want := perVariant
		if v == Empty {
			want = SetReps * len(Sizes) * emptyPerSize
		}
		if count[v] != want {
			t.Errorf("variant %s: got %d frames, want %d", v, count[v], want)
		}
	}
}

func TestPayloads(t *testing.T) {
	p := Payloads()
	tests := []struct {
		name   string
		prefix string
		size   int
	}{
		{"hc1", "HC1:", 300},
		{"native", "HCN1:", 205},
		{"bin120", "", 120},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p[i].Name != tt.name || len(p[i].Data) != tt.size || !bytes.HasPrefix(p[i].Data, []byte(tt.prefix)) {
				t.Errorf("got %s of %d bytes (%.8q…), want %s of %d bytes starting %q", p[i].Name, len(p[i].Data), p[i].Data, tt.name, tt.size, tt.prefix)
			}
			m, err := Modules(p[i], "Q")
			if err != nil {
				t.Fatal(err)
			}
			if n := len(m); n < 21 || (n-17)%4 != 0 {
				t.Errorf("got a %d-module symbol, want 17+4v", n)
			}
		})
	}
}

func TestHeldOutSeedsAreApart(t *testing.T) {
	for _, s := range Set() {
		if s.Seed >= HeldOut[0] && s.Seed < HeldOut[1] {
			t.Fatalf("set frame %s has a held-out seed", s.Name())
		}
	}
	held := Held(160, 120, 3)
	if len(held) != 3*len(Variants) {
		t.Fatalf("got %d held-out specs, want %d", len(held), 3*len(Variants))
	}
	for _, s := range held {
		if !s.Drawn || s.Seed < HeldOut[0] || s.Seed >= HeldOut[1] {
			t.Errorf("%s: not a drawn frame with a held-out seed", s.Name())
		}
	}
}

func TestDrawnDiffersFromSet(t *testing.T) {
	s := Spec{Width: 160, Height: 120, Payload: Payloads()[1], ECC: "M", Variant: Blur, Seed: 5}
	a, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	s.Drawn = true
	b, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Pix, b.Pix) {
		t.Error("a drawn blur frame renders like the set's")
	}
}
