package shc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/device/camera"
	"sentinel/internal/corpustest"
)

// The shared corpus of SMART Health Cards: the specification's examples
// and the validation SDK's test data (see its README for the expected
// results that these tests assert).
const (
	corpusRel = "../shared/corpus/shc"
	specIss   = "https://spec.smarthealth.cards/examples/issuer"
	specKid   = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
	x5cKid    = "EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw"
	badCRLIss = "https://raw.githubusercontent.com/smart-on-fhir/health-cards-dev-tools/main/testdata/badcrl/"
)

var (
	// corpusClock is a time at which the specification's examples are
	// valid (nbf 2023-06-22; example 03 expires 2024-06-21).
	corpusClock = time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC)
	// pseudonymKey is the deployment pseudonym key of these tests.
	pseudonymKey = []byte("sentinel test pseudonym key 0001")
)

// corpusDir returns the corpus directory, resolved from the module root.
// Without the corpus the tests skip loudly, or fail when CI=true.
func corpusDir(t testing.TB) string {
	t.Helper()
	corpus := filepath.Join(corpustest.ModuleRoot(t), filepath.FromSlash(corpusRel))
	if _, err := os.Stat(filepath.Join(corpus, "README.md")); err != nil {
		msg := "SKIPPING the SMART Health Card corpus tests: " + corpusRel + " (beside the module root) is missing: " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return corpus
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// specStore trusts the specification's issuer key set and revocation list.
func specStore(t testing.TB, corpus string) *trust.Store {
	t.Helper()
	s := trust.New()
	wk := filepath.Join(corpus, "spec-examples", "issuer", ".well-known")
	if _, err := s.AddJWKS(specIss, []byte(readFile(t, filepath.Join(wk, "jwks.json")))); err != nil {
		t.Fatalf("AddJWKS: %v", err)
	}
	if err := s.AddSHCCRL([]byte(readFile(t, filepath.Join(wk, "crl", specKid+".json")))); err != nil {
		t.Fatalf("AddSHCCRL: %v", err)
	}
	s.SetPseudonymKey(pseudonymKey)
	return s
}

// tally counts the corpus expectations asserted and matched.
type tally struct {
	cases, expectations, matches int
}

// check records one expectation of a case; a mismatch fails the test.
func (ty *tally) check(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	ty.expectations++
	if ok {
		ty.matches++
		return
	}
	t.Errorf(format, args...)
}

// reason asserts that err is a rejection with reason want (want "" means
// accepted).
func (ty *tally) reason(t *testing.T, what string, err error, want credential.Reason) {
	t.Helper()
	got := credential.ReasonOf(err)
	if err != nil && got == "" {
		got = "untyped error"
	}
	ty.check(t, got == want, "%s: got reason %q (%v), want %q", what, got, err, want)
}

func verifyJWS(jws string, store *trust.Store, now time.Time) (*Unverified, *credential.Credential, error) {
	u, err := ParseJWS(jws)
	if err != nil {
		return nil, nil, err
	}
	c, err := u.Verify(store, now)
	return u, c, err
}

func TestCorpusSpecExamples(t *testing.T) {
	corpus := corpusDir(t)
	dir := filepath.Join(corpus, "spec-examples")
	store := specStore(t, corpus)
	today := time.Now()
	var ty tally
	examples := []struct {
		n      string
		qrs    int
		atSpec credential.Reason // at corpusClock
		atNow  credential.Reason // today
	}{
		{"00", 1, "", ""},
		{"01", 1, "", ""},
		{"02", 3, "", ""},
		{"03", 1, credential.ReasonRevoked, credential.ReasonRevoked},
	}
	for _, ex := range examples {
		t.Run("example-"+ex.n, func(t *testing.T) {
			ty.cases++
			base := filepath.Join(dir, "example-"+ex.n+"-")
			jws := readFile(t, base+"d-jws.txt")

			// The payload inflates to the published expanded JSON.
			u, err := ParseJWS(jws)
			ty.reason(t, "parse JWS", err, "")
			if err != nil {
				return
			}
			var got, want any
			_ = json.Unmarshal(u.Payload, &got)
			if err := json.Unmarshal([]byte(readFile(t, base+"b-jws-payload-expanded.json")), &want); err != nil {
				t.Fatal(err)
			}
			ty.check(t, reflect.DeepEqual(got, want), "inflated payload differs from b-jws-payload-expanded.json")

			// Verdicts at the corpus clock and today.
			_, c, err := verifyJWS(jws, store, corpusClock)
			ty.reason(t, "verify at "+corpusClock.Format(time.DateOnly), err, ex.atSpec)
			_, _, err = verifyJWS(jws, store, today)
			ty.reason(t, "verify today", err, ex.atNow)
			if ex.n == "03" {
				ty.check(t, err != nil && strings.Contains(err.Error(), "also expired"), "example 03 today: got %v, want revoked and also expired", err)
			}
			if c != nil {
				checkCredential(t, &ty, ex.n, c)
			}

			// The file form holds the same JWS.
			jwss, err := ParseFile([]byte(readFile(t, base+"e-file.smart-health-card")))
			ty.reason(t, "file", err, "")
			ty.check(t, len(jwss) == 1 && jwss[0] == jws, "file: got %d JWS, want the d-jws.txt one", len(jwss))

			// The numeric QR texts decode (and join) to the JWS; the
			// PNGs decode to the numeric texts.
			var texts []string
			for k := range ex.qrs {
				num := readFile(t, base+"f-qr-code-numeric-value-"+itoa(k)+".txt")
				texts = append(texts, num)
				res, err := camera.DecodeFile(base + "g-qr-code-" + itoa(k) + ".png")
				ty.check(t, err == nil && res.Text() == num, "png %d: got %v, want the numeric text", k, err)
				ty.check(t, err == nil && len(QRWarnings(res.Version, res.ECLevel, res.Text())) == 0, "png %d: warnings %v, want none", k, QRWarnings(res.Version, res.ECLevel, res.Text()))
			}
			if ex.qrs == 1 {
				got, err := Decode(texts[0])
				ty.reason(t, "numeric", err, "")
				ty.check(t, err == nil && got.signingInput == u.signingInput && len(got.Warnings) == 0,
					"numeric: decodes to another JWS or warns: %v", got)
				return
			}
			for _, order := range [][]int{{0, 1, 2}, {2, 0, 1}} {
				var a Assembler
				var joined string
				var warns []Warning
				for i, k := range order {
					joined, warns, err = a.Add(texts[k])
					ty.reason(t, "assemble", err, "")
					if i < len(order)-1 {
						ty.check(t, joined == "", "assemble: complete after %d of %d parts", i+1, len(order))
					}
				}
				ty.check(t, joined == jws && len(warns) == 1 && warns[0] == WarnChunked, "assemble %v: joined JWS differs or warnings %v", order, warns)
			}
			_, _, err = DecodeNumeric(texts[1])
			ty.reason(t, "one part alone", err, credential.ReasonBadEncoding)
		})
	}
	t.Logf("spec examples: %d cases, %d expectations, %d matched", ty.cases, ty.expectations, ty.matches)
}

func checkCredential(t *testing.T, ty *tally, n string, c *credential.Credential) {
	t.Helper()
	ty.check(t, c.Format == credential.FormatSHC && c.Issuer == specIss, "credential: format %q issuer %q", c.Format, c.Issuer)
	wantKid := specKid
	if n == "01" {
		wantKid = x5cKid
	}
	ty.check(t, string(c.KeyID) == wantKid, "credential: key id %q, want %q", c.KeyID, wantKid)
	ty.check(t, c.NotBefore.Equal(time.UnixMilli(1687450764656)) || c.NotBefore.Equal(time.UnixMilli(1687450764657)),
		"credential: nbf %v, want 2023-06-22T16:19:24.65xZ", c.NotBefore)
	switch n {
	case "00", "01":
		wantP := credential.Pseudonym(pseudonymKey, "Anyperson", "John B.", "1951-01-20")
		ty.check(t, c.Holder.Kind == credential.HolderPseudonym && c.Holder.Pseudonym == wantP, "holder: got %v", c.Holder)
		ty.check(t, c.DisplayName == "Anyperson *", "display name %q, want %q", c.DisplayName, "Anyperson *")
		b, _ := json.Marshal(c)
		ty.check(t, !strings.Contains(string(b), "John"), "credential keeps the given name: %s", b)
		ty.check(t, c.Facts != nil && c.Facts.Kind == "immunization" && c.Facts.Count == 3 && c.Facts.Product == "229" &&
			c.Facts.Date.Equal(time.Date(2022, 9, 5, 0, 0, 0, 0, time.UTC)),
			"facts: got %+v, want 3 immunizations, latest CVX 229 on 2022-09-05", c.Facts)
		if n == "00" {
			ty.check(t, c.Revocation == "MKyCxh7p6uQ", "revocation id %q", c.Revocation)
		}
	case "02":
		ty.check(t, c.Holder.Kind == credential.HolderUnknown && c.DisplayName == "", "lab report without a Patient: holder %v name %q", c.Holder, c.DisplayName)
		ty.check(t, c.Facts != nil && c.Facts.Kind == "test" && c.Facts.Product == "http://acme.com/labs/reports|GHP" && c.Facts.Count > 0,
			"facts: got %+v, want the GHP lab report", c.Facts)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
