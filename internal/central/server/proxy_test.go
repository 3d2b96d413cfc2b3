package server

import "testing"

func TestParseProxyFrom(t *testing.T) {
	got, err := ParseProxyFrom(" 10.0.0.5, 10.1.0.0/16,fd00::1/64,::ffff:10.0.0.6 ")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.5/32", "10.1.0.0/16", "fd00::/64", "10.0.0.6/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("entry %d: got %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"haproxy", "10.0.0.300", "10.0.0.0/40"} {
		if _, err := ParseProxyFrom(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// FuzzParseProxyFrom: any flag value gives prefixes or an error, never a
// crash, and every prefix contains its own address.
func FuzzParseProxyFrom(f *testing.F) {
	for _, s := range []string{"", "10.0.0.5", "10.0.0.0/24,fd00::/64", " , ,", "::ffff:1.2.3.4/120", "1.2.3.4/33", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseProxyFrom(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || !p.Contains(p.Addr()) {
				t.Errorf("%q gave %v", s, p)
			}
		}
	})
}
