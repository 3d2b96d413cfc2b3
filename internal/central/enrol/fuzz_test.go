package enrol_test

import (
	"encoding/json"
	"errors"
	"testing"

	"sentinel/internal/central/enrol"
	syncenrol "sentinel/sync/enrol"
)

// FuzzEnrolRequest feeds outside bytes to the request decoder: it must
// never panic, and anything it accepts carries a well-formed token and a
// CSR whose signature holds.
func FuzzEnrolRequest(f *testing.F) {
	req, _, err := syncenrol.NewRequest("AAAAAAAAAAAAAAAAAAAAAAAAAA")
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(req)
	f.Add(good)
	f.Add([]byte(`{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAA","csr":""}`))
	req.Root = "a2a397011f72ed06"
	withRoot, _ := json.Marshal(req)
	f.Add(withRoot)
	f.Add([]byte(`{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAA","csr":"MAA=","root":"\u0000"}`))
	f.Add([]byte(`{"token":"x","csr":"MAA="}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAA","csr":null,"x":1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAA"} {}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, csr, err := enrol.DecodeRequest(body)
		if err != nil {
			if !errors.Is(err, enrol.ErrMalformed) && !errors.Is(err, enrol.ErrTooLarge) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		if csr.CheckSignature() != nil {
			t.Fatal("accepted a CSR whose signature does not hold")
		}
		if len(body) > enrol.MaxRequest || r.Token == "" {
			t.Fatalf("accepted %d bytes with token %q", len(body), r.Token)
		}
	})
}
