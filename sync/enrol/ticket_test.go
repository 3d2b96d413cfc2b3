package enrol_test

import (
	"errors"
	"strings"
	"testing"

	"sentinel/sync/enrol"
)

const tok = "GEZDGNBVGY3TQOJQGEZDGNBVGY"

func TestTicketRoundTrip(t *testing.T) {
	for _, addr := range []string{"central.example:8444", "10.1.2.3:9444", "[::1]:8444"} {
		tk, err := enrol.NewTicket(strings.ToLower(tok), addr, []byte("a CA certificate"))
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		for _, text := range []string{tk.String(), tk.QR(), strings.ToLower(tk.String()), "  " + tk.QR() + "\n"} {
			got, err := enrol.ParseTicket(text)
			if err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			if got != tk {
				t.Errorf("%q: got %+v, want %+v", text, got, tk)
			}
		}
		if tk.URL() != "https://"+addr {
			t.Errorf("got URL %q", tk.URL())
		}
	}
	// The plain token is still a ticket, without address or fingerprint.
	got, err := enrol.ParseTicket(enrol.TokenQRPrefix + strings.ToLower(tok))
	if err != nil || got.Compact() || got.Token != tok || got.String() != tok {
		t.Errorf("plain token: got %+v, %v", got, err)
	}
}

func TestTicketRefused(t *testing.T) {
	tk, err := enrol.NewTicket(tok, "central.example:8444", []byte("ca"))
	if err != nil {
		t.Fatal(err)
	}
	good := tk.String()
	for name, text := range map[string]string{
		"empty":          "",
		"short token":    tok[:20],
		"cut":            good[:len(good)-10],
		"no fingerprint": strings.Join(strings.Split(good, "/")[:3], "/"),
		"extra part":     good + "/X",
		"no port":        strings.Replace(good, ":8444", "", 1),
		"port 0":         strings.Replace(good, ":8444", ":0", 1),
		"bad base32":     strings.Replace(good, tok, strings.Repeat("1", 26), 1),
	} {
		if _, err := enrol.ParseTicket(text); !errors.Is(err, enrol.ErrTicket) {
			t.Errorf("%s (%q): got %v, want ErrTicket", name, text, err)
		}
	}
}

// FuzzParseTicket feeds outside bytes (typed or scanned) to the ticket
// parser: it never panics, refuses with ErrTicket, and what it accepts
// prints back to a text it reads the same.
func FuzzParseTicket(f *testing.F) {
	tk, _ := enrol.NewTicket(tok, "central.example:8444", []byte("ca"))
	for _, s := range []string{tok, tk.String(), tk.QR(), "SE1/", "SE1/a:1/" + tok + "/", "SENTINEL-ENROL:SE1/[::1]:8444/" + tok + "/AAAA", "SE1///"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := enrol.ParseTicket(s)
		if err != nil {
			if !errors.Is(err, enrol.ErrTicket) {
				t.Fatalf("error %v is not ErrTicket", err)
			}
			return
		}
		again, err := enrol.ParseTicket(got.String())
		if err != nil || again != got {
			t.Fatalf("%q → %+v prints %q, which reads %+v, %v", s, got, got.String(), again, err)
		}
	})
}
