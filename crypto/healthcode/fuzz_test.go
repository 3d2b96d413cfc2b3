package healthcode

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// fuzzStore trusts the issuer keys of the golden vectors.
func fuzzStore(t testing.TB) *trust.Store {
	t.Helper()
	st := trust.New()
	for _, dir := range goldenDirs(t) {
		b, err := os.ReadFile(filepath.Join(dir, "issuer.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddPEM(b); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

var fuzzNow = time.Date(2026, 3, 1, 9, 0, 10, 0, time.UTC)

// checkVerdict verifies u and checks what any accepted credential must
// satisfy.
func checkVerdict(t *testing.T, u *Unverified, st *trust.Store) {
	cred, err := u.Verify(st, VerifyOptions{Now: fuzzNow})
	if err != nil {
		if credential.ReasonOf(err) == "" {
			t.Fatalf("Verify: untyped error %v", err)
		}
		return
	}
	if cred.Colour < credential.ColourGreen || cred.Colour > credential.ColourRed {
		t.Fatalf("accepted colour %d", cred.Colour)
	}
	if err := validName([]byte(cred.DisplayName)); err != nil {
		t.Fatalf("accepted display name: %v", err)
	}
	if !cred.Expires.After(fuzzNow) || cred.IssuedAt.After(fuzzNow.Add(DefaultTolerance)) {
		t.Fatalf("accepted outside its validity: %v to %v", cred.IssuedAt, cred.Expires)
	}
	if cred.Expires.Sub(cred.IssuedAt) > MaxPaperTTL {
		t.Fatalf("accepted a lifetime of %v", cred.Expires.Sub(cred.IssuedAt))
	}
	if !cred.Paper && !cred.Rolling {
		t.Fatal("accepted a holder-bound credential without a rolling signature")
	}
}

func goldenSeeds(f *testing.F) []string {
	var out []string
	for _, dir := range goldenDirs(f) {
		b, err := os.ReadFile(filepath.Join(dir, "code.txt"))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, strings.TrimSpace(string(b)))
	}
	return out
}

// FuzzDecode runs texts through Decode and Verify against the golden
// vectors' keys: nothing may panic, every error is a typed rejection, and
// what is accepted obeys the format's rules.
func FuzzDecode(f *testing.F) {
	for _, s := range goldenSeeds(f) {
		f.Add(s)
	}
	f.Add(Prefix)
	f.Add("HC1:NCFOXN%TS3DH")
	st := fuzzStore(f)
	f.Fuzz(func(t *testing.T, text string) {
		u, err := Decode(text)
		// DecodeBytes, the gate's path, reads the bytes as Decode reads
		// the text.
		ub, berr := DecodeBytes([]byte(text))
		if err != nil || berr != nil {
			if err == nil || berr == nil || err.Error() != berr.Error() {
				t.Fatalf("Decode: %v; DecodeBytes: %v", err, berr)
			}
		} else if !reflect.DeepEqual(u, ub) {
			t.Fatal("Decode and DecodeBytes disagree")
		}
		if err != nil {
			if credential.ReasonOf(err) == "" {
				t.Fatalf("Decode: untyped error %v", err)
			}
			return
		}
		checkVerdict(t, u, st)
	})
}

// FuzzDecodeCBOR feeds the CBOR layer directly (past Base45 and zlib),
// where the hand-written decoders are, and holds parseSign1 to the answer
// of cose.Parse on what it accepts.
func FuzzDecodeCBOR(f *testing.F) {
	for _, s := range goldenSeeds(f) {
		b, err := credentialBytes(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range contradictorySeeds(f) {
		f.Add(b)
	}
	st := fuzzStore(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m cose.Sign1
		if err := parseSign1(b, &m); err == nil {
			ref, err := cose.Parse(b)
			if err != nil {
				t.Fatalf("parseSign1 accepted what cose.Parse refuses: %v", err)
			}
			if !bytes.Equal(ref.RawProtected, m.RawProtected) || !bytes.Equal(ref.Payload, m.Payload) ||
				!bytes.Equal(ref.Signature, m.Signature) || !bytes.Equal(ref.KID(), m.KID()) ||
				ref.Protected.Alg != m.Protected.Alg || ref.Protected.HasAlg != m.Protected.HasAlg {
				t.Fatalf("parseSign1 and cose.Parse disagree:\n got %+v\nwant %+v", m, *ref)
			}
		}
		var u Unverified
		u.buf = b
		if err := u.decodeCBOR(b); err != nil {
			if credential.ReasonOf(err) == "" {
				t.Fatalf("decode: untyped error %v", err)
			}
			return
		}
		checkVerdict(t, &u, st)
	})
}

// contradictorySeeds returns the golden es256 credential with an
// unprotected alg or kid that contradicts its protected header.
func contradictorySeeds(t testing.TB) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "es256", "code.txt"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := credentialBytes(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := cose.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	with := func(unprot map[int]any) []byte {
		b, err := cose.EncMode().Marshal([]any{m.RawProtected, unprot, m.Payload, m.Signature})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return map[string][]byte{
		"other alg": with(map[int]any{1: cose.AlgEdDSA}),
		"other kid": with(map[int]any{4: []byte("forged-kid")}),
	}
}

// TestDecodeContradictoryHeaders: a native code whose unprotected header
// contradicts the signed one is refused as bad-structure, in the text form
// as well as in the CBOR layer.
func TestDecodeContradictoryHeaders(t *testing.T) {
	for name, b := range contradictorySeeds(t) {
		t.Run(name, func(t *testing.T) {
			var u Unverified
			if err := u.decodeCBOR(b); credential.ReasonOf(err) != credential.ReasonBadStructure {
				t.Errorf("decodeCBOR: got %v, want %s", err, credential.ReasonBadStructure)
			}
			if _, err := Decode(encodeText(b)); credential.ReasonOf(err) != credential.ReasonBadStructure {
				t.Errorf("Decode: got %v, want %s", err, credential.ReasonBadStructure)
			}
		})
	}
}
