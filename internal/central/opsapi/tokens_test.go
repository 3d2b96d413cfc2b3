package opsapi

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTokens(t *testing.T) {
	h := HashToken("t1")
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"good", `{"tokens":[{"name":"a","role":"ops","sha256":"` + h + `"}]}`, true},
		{"empty", `{"tokens":[]}`, true},
		{"no name", `{"tokens":[{"role":"ops","sha256":"` + h + `"}]}`, false},
		{"bad role", `{"tokens":[{"name":"a","role":"root","sha256":"` + h + `"}]}`, false},
		{"short hash", `{"tokens":[{"name":"a","role":"ops","sha256":"abcd"}]}`, false},
		{"plain token", `{"tokens":[{"name":"a","role":"ops","sha256":"t1"}]}`, false},
		{"same name", `{"tokens":[{"name":"a","role":"ops","sha256":"` + h + `"},{"name":"a","role":"admin","sha256":"` + HashToken("t2") + `"}]}`, false},
		{"same token", `{"tokens":[{"name":"a","role":"ops","sha256":"` + h + `"},{"name":"b","role":"admin","sha256":"` + h + `"}]}`, false},
		{"not json", `name=a`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTokens([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("got error %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrTokens) {
				t.Errorf("got %v, want it to wrap ErrTokens", err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tk := testTokens(t)
	for _, tc := range []struct {
		name, token, want string
		err               error
	}{
		{"ops", opsToken, "olga", nil},
		{"admin", adminToken, "adam", nil},
		{"empty", "", "", ErrNoToken},
		{"unknown", "nope", "", ErrUnknownToken},
		{"prefix", opsToken[:5], "", ErrUnknownToken},
		{"hash itself", HashToken(opsToken), "", ErrUnknownToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tk.Lookup(tc.token)
			if !errors.Is(err, tc.err) || c.Name != tc.want {
				t.Errorf("got %q, %v, want %q, %v", c.Name, err, tc.want, tc.err)
			}
		})
	}
}

func FuzzParseTokens(f *testing.F) {
	f.Add([]byte(`{"tokens":[{"name":"a","role":"ops","sha256":"` + HashToken("x") + `"}]}`))
	f.Add([]byte(`{"tokens":[{"name":"a","role":"admin","sha256":"zz"}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := ParseTokens(b)
		if err != nil {
			return
		}
		for _, e := range tk.entries {
			if e.name == "" || strings.TrimSpace(string(e.role)) == "" {
				t.Fatalf("accepted entry %+v", e)
			}
		}
	})
}
