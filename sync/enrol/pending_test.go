package enrol

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// TestPendingRequest: the key pair of an unanswered enrolment is kept and
// sent again by the next attempt, so that the centre can answer the retry;
// a damaged pending key does not stop the enrolment, it is replaced.
func TestPendingRequest(t *testing.T) {
	dir := t.TempDir()
	pub := func(r *Request) string {
		csr, err := x509.ParseCertificateRequest(r.CSR)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(csr.PublicKey)
		return string(der)
	}
	first, _, err := pendingRequest(dir, "AAAAAAAAAAAAAAAAAAAAAAAAAA")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, PendingKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("pending key: %v, mode %v; want it written 0600", err, st)
	}
	again, _, err := pendingRequest(dir, "AAAAAAAAAAAAAAAAAAAAAAAAAA")
	if err != nil {
		t.Fatal(err)
	}
	if pub(again) != pub(first) {
		t.Error("the retry sent another key: the centre would refuse it token-used")
	}
	if err := os.WriteFile(filepath.Join(dir, PendingKeyFile), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, _, err := pendingRequest(dir, "AAAAAAAAAAAAAAAAAAAAAAAAAA")
	if err != nil {
		t.Fatalf("with a damaged pending key: %v, want a new key", err)
	}
	if pub(fresh) == pub(first) {
		t.Error("a damaged pending key gave the old key")
	}
	if next, _, _ := pendingRequest(dir, "AAAAAAAAAAAAAAAAAAAAAAAAAA"); pub(next) != pub(fresh) {
		t.Error("the damaged pending key was not replaced by the new one")
	}
}
