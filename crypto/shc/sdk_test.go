package shc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/device/camera"
)

// TestCorpusValidationSDK runs every case of the validation SDK's test data
// with the result its README expects, mapped to our reasons. Cases the SDK
// calls "error" must be refused with the reason listed; "warn" cases are
// accepted with the warning listed, or judged as documented in doc.go.
func TestCorpusValidationSDK(t *testing.T) {
	corpus := corpusDir(t)
	dir := filepath.Join(corpus, "validation-sdk-testdata")
	store := specStore(t, corpus)
	var ty tally
	path := func(name string) string { return filepath.Join(dir, name) }

	jwsCases := []struct {
		file   string
		want   credential.Reason
		detail string // a word the rejection's detail must hold
	}{
		{"test-example-00-d-jws-invalid-signature.txt", credential.ReasonBadSignature, "does not verify"},
		{"test-example-00-d-jws-no_jws_header_alg.txt", credential.ReasonBadAlgorithm, "no alg"},
		{"test-example-00-d-jws-no_jws_header_kid.txt", credential.ReasonBadStructure, "no kid"},
		{"test-example-00-d-jws-no_jws_header_zip.txt", credential.ReasonBadCompression, "no zip"},
		{"test-example-00-d-jws-der-signature.txt", credential.ReasonBadSignature, "DER"},
		{"test-example-00-d-jws-der-signature-r-neg.txt", credential.ReasonBadSignature, "DER"},
		{"test-example-00-d-jws-der-signature-s-neg.txt", credential.ReasonBadSignature, "DER"},
		{"test-example-00-d-jws-trailing_chars.txt", credential.ReasonBadEncoding, "white space"},
		{"test-example-00-d-jws-utf8_bom_prefix.txt", credential.ReasonBadStructure, "byte-order mark"},
		// Legacy issuer URL and a card the key is not trusted for.
		{"test-example-00-d-jws-jws_too_long.txt", credential.ReasonBadIssuer, "smarthealth.cards/examples/issuer"},
	}
	for _, tc := range jwsCases {
		t.Run(tc.file, func(t *testing.T) {
			ty.cases++
			_, _, err := verifyJWS(readFile(t, path(tc.file)), store, corpusClock)
			ty.reason(t, "verdict", err, tc.want)
			ty.check(t, err != nil && strings.Contains(err.Error(), tc.detail), "detail: got %v, want it to mention %q", err, tc.detail)
		})
	}
	t.Run("jws_too_long warns", func(t *testing.T) {
		u, err := ParseJWS(readFile(t, path("test-example-00-d-jws-jws_too_long.txt")))
		ty.check(t, err == nil && hasWarning(u.Warnings, WarnLongJWS), "got %v, want the long-JWS warning", err)
	})

	fileCases := []struct {
		file    string
		fileErr credential.Reason   // the verdict on the file itself
		want    []credential.Reason // one per JWS in the file
	}{
		{"test-example-00-e-file-invalid_deflate.smart-health-card", "", []credential.Reason{credential.ReasonBadCompression}},
		{"test-example-00-e-file-no_deflate.smart-health-card", "", []credential.Reason{credential.ReasonBadCompression}},
		{"test-example-00-e-file-multi-jws.smart-health-card", "", []credential.Reason{"", ""}},
		// Two spaces after the JSON object; the first JWS has no alg,
		// the second is sound.
		{"test-example-00-e-file-multi-jws-issues.smart-health-card", credential.ReasonBadStructure, []credential.Reason{credential.ReasonBadAlgorithm, ""}},
	}
	for _, tc := range fileCases {
		t.Run(tc.file, func(t *testing.T) {
			ty.cases++
			data := []byte(readFile(t, path(tc.file)))
			jwss, err := ParseFile(data)
			ty.reason(t, "file", err, tc.fileErr)
			if err != nil {
				ty.check(t, strings.Contains(err.Error(), "after the JSON object"), "file: got %v, want trailing characters named", err)
				var f struct{ VerifiableCredential []string }
				if err := json.Unmarshal(data, &f); err != nil {
					t.Fatal(err)
				}
				jwss = f.VerifiableCredential
			}
			ty.check(t, len(jwss) == len(tc.want), "file: got %d JWS, want %d", len(jwss), len(tc.want))
			for i := range min(len(jwss), len(tc.want)) {
				_, _, err := verifyJWS(jwss[i], store, corpusClock)
				ty.reason(t, "JWS "+itoa(i), err, tc.want[i])
			}
		})
	}

	numericCases := []struct {
		file   string
		want   credential.Reason
		detail string
		warn   Warning
	}{
		{"test-example-00-f-qr-code-numeric-value-0-wrong_qr_header.txt", credential.ReasonBadEncoding, "header", ""},
		{"test-example-00-f-qr-code-numeric-value-0-odd-count.txt", credential.ReasonBadEncoding, "odd", ""},
		{"test-example-00-f-qr-code-numeric-value-0-trailing_chars.txt", credential.ReasonBadEncoding, "prefix", ""},
		{"test-example-00-f-qr-code-numeric-value-0-wrong-multi-chunk.txt", "", "", WarnSingleChunk},
	}
	for _, tc := range numericCases {
		t.Run(tc.file, func(t *testing.T) {
			ty.cases++
			qr := readFile(t, path(tc.file))
			u, err := Decode(qr)
			if err == nil {
				_, err = u.Verify(store, corpusClock)
			}
			ty.reason(t, "verdict", err, tc.want)
			if tc.want != "" {
				ty.check(t, err != nil && strings.Contains(err.Error(), tc.detail), "detail: got %v, want it to mention %q", err, tc.detail)
			}
			if tc.warn != "" {
				ty.check(t, u != nil && hasWarning(u.Warnings, tc.warn), "warnings: got %v, want %q", u, tc.warn)
				var a Assembler
				_, warns, err := a.Add(qr)
				ty.check(t, err == nil && hasWarning(warns, tc.warn), "assembler: got %v %v, want %q", warns, err, tc.warn)
			}
		})
	}
	// The trailing characters of the numeric case are also refused where
	// they stand when the leading ones are trimmed.
	t.Run("numeric trailing characters only", func(t *testing.T) {
		qr := strings.TrimLeft(readFile(t, path("test-example-00-f-qr-code-numeric-value-0-trailing_chars.txt")), " \t\n")
		_, err := Decode(qr)
		ty.reason(t, "verdict", err, credential.ReasonBadEncoding)
	})

	// Unsigned payloads for the time rules: signed here with a key of our
	// own that is trusted for the specification's issuer.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	own := trustKey(t, key, specIss)
	payloadCases := []struct {
		file string
		at   time.Time
		want credential.Reason
	}{
		{"test-example-00-b-jws-payload-expanded-expired.json", corpusClock, credential.ReasonExpired},
		{"test-example-00-b-jws-payload-expanded-expired.json", time.Unix(1639496674, 0), ""}, // between nbf and exp
		{"test-example-00-b-jws-payload-expanded-nbf_not_yet_valid.json", corpusClock, credential.ReasonNotYetValid},
		{"test-example-00-b-jws-payload-expanded-pre-expired.json", corpusClock, credential.ReasonExpired},
		{"test-example-00-b-jws-payload-expanded-pre-expired.json", time.Unix(1639496673, 0), credential.ReasonExpired}, // before nbf
	}
	for _, tc := range payloadCases {
		t.Run(tc.file+"@"+tc.at.UTC().Format(time.RFC3339), func(t *testing.T) {
			ty.cases++
			jws, err := SignPayload(key, "", []byte(readFile(t, path(tc.file))))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = verifyJWS(jws, own, tc.at)
			ty.reason(t, "verdict", err, tc.want)
		})
	}

	// QR images through the project's decoder. The decoder reports the
	// version but not the segments, so segment rules cannot be judged;
	// the version rule yields a warning (see doc.go).
	imageCases := []struct {
		file    string
		version int
		warns   []Warning
		want    credential.Reason
	}{
		// Version 24 is what level Q needs for this content.
		{"test-example-00-g-qr-code-0-bad_qr_version.png", 24, []Warning{WarnQRVersion}, ""},
		{"test-example-00-g-qr-code-0-single_qr_segment.png", 29, []Warning{WarnQRVersion, WarnQRInflated}, ""},
		// A third segment "extra" after the digits.
		{"test-example-00-g-qr-code-0-too_many_qr_segment.png", 18, nil, credential.ReasonBadEncoding},
		{"test-example-00-g-qr-code-inflated-to-v22.png", 22, []Warning{WarnQRInflated}, ""},
		{"test-invalid-jws-payload.png", 20, nil, credential.ReasonBadStructure},
		{"test-example-00-g-qr-code-0-scaled-23.jpg", 0, nil, ""},
		{"test-example-00-g-qr-code-0-scaled-85.jpg", 0, nil, ""},
	}
	for _, tc := range imageCases {
		t.Run(tc.file, func(t *testing.T) {
			ty.cases++
			res, err := decodeImage(t, path(tc.file))
			ty.check(t, err == nil, "decode image: %v", err)
			if err != nil {
				return
			}
			if tc.version != 0 {
				ty.check(t, res.Version == tc.version, "QR version %d, want %d", res.Version, tc.version)
			}
			warns := QRWarnings(res.Version, res.ECLevel, res.Text())
			ty.check(t, len(warns) == len(tc.warns), "QR warnings %v, want %q", warns, tc.warns)
			for _, w := range tc.warns {
				ty.check(t, hasWarning(warns, w), "QR warnings %v, want %q", warns, w)
			}
			u, err := Decode(res.Text())
			if err == nil {
				_, err = u.Verify(store, corpusClock)
			}
			ty.reason(t, "content verdict", err, tc.want)
		})
	}

	// Malformed revocation lists are refused whole at load; the key set
	// beside them loads, and the card verifies without a list.
	crlCases := []struct{ name, detail string }{
		{"duplicate-rid", "listed twice"},
		{"invalid-method", "method"},
		{"non-base64url-rid", "not base64url"},
		{"too-long-rid", "characters, want 1 to 24"},
		{"version-mismatch", "does not match crlVersion"},
	}
	for _, tc := range crlCases {
		t.Run("badcrl/"+tc.name, func(t *testing.T) {
			ty.cases++
			wk := filepath.Join(dir, "badcrl", tc.name, ".well-known")
			s := trust.New()
			if _, err := s.AddJWKS(badCRLIss+tc.name, []byte(readFile(t, filepath.Join(wk, "jwks.json")))); err != nil {
				t.Fatalf("AddJWKS: %v", err)
			}
			crls, _ := filepath.Glob(filepath.Join(wk, "crl", "*.json"))
			if len(crls) != 1 {
				t.Fatalf("got %d revocation lists, want 1", len(crls))
			}
			err := s.AddSHCCRL([]byte(readFile(t, crls[0])))
			ty.check(t, errors.Is(err, trust.ErrCRL) && strings.Contains(err.Error(), tc.detail), "AddSHCCRL: got %v, want ErrCRL mentioning %q", err, tc.detail)
			_, _, err = verifyJWS(readFile(t, filepath.Join(dir, "badcrl", tc.name, "jws-crl-"+tc.name+".txt")), s, corpusClock)
			ty.reason(t, "card without its list", err, "")
		})
	}
	t.Logf("validation SDK: %d cases, %d expectations, %d matched", ty.cases, ty.expectations, ty.matches)
}

// decodeImage decodes a QR image through device/camera; when that finds
// nothing it retries upscaled four times, as the corpus README does for the
// small JPEG.
func decodeImage(t *testing.T, path string) (camera.Result, error) {
	t.Helper()
	res, err := camera.DecodeFile(path)
	if err == nil || !errors.Is(err, camera.ErrNoCode) {
		return res, err
	}
	t.Logf("%s: device/camera finds no code at the image's own size; retrying upscaled 4x", filepath.Base(path))
	g := loadGray(t, path)
	return camera.Decode(upscale(g, 4))
}

func upscale(g *image.Gray, k int) *image.Gray {
	b := g.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.Pix[y*out.Stride+x] = g.GrayAt(b.Min.X+x/k, b.Min.Y+y/k).Y
		}
	}
	return out
}

func trustKey(t testing.TB, key *ecdsa.PrivateKey, iss string) *trust.Store {
	t.Helper()
	s := trust.New()
	s.AddSHCKey(&trust.SHCKey{Issuer: iss, KID: trust.Thumbprint(&key.PublicKey), Public: &key.PublicKey})
	s.SetPseudonymKey(pseudonymKey)
	return s
}

func hasWarning(ws []Warning, w Warning) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

func loadGray(t *testing.T, path string) *image.Gray {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := camera.LoadGray(f)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
