package healthcode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/corpustest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenCase is testdata/NAME/case.json: the inputs of a test vector and
// its expected verdict, written by hand. The outputs (code.txt, cbor.hex,
// issuer.pem) are regenerated with -update.
type goldenCase struct {
	Description string `json:"description"`
	Issuer      struct {
		ID   string `json:"id"`
		Alg  string `json:"alg"`  // "EdDSA" or "ES256"
		Seed string `json:"seed"` // hex: Ed25519 seed or P-256 scalar
	} `json:"issuer"`
	Claims struct {
		Index       uint32    `json:"index"`
		Colour      string    `json:"colour"`
		ColourSince time.Time `json:"colour_since,omitzero"`
		Name        string    `json:"name,omitempty"`
		TTL         string    `json:"ttl,omitempty"`
		IssuedAt    time.Time `json:"issued_at"`
		HolderAlg   string    `json:"holder_alg,omitempty"`
		HolderSeed  string    `json:"holder_seed,omitempty"`
	} `json:"claims"`
	// Extra claims added to the claims map (key: decimal claim key).
	Extra map[string]json.RawMessage `json:"extra_claims,omitempty"`
	// PresentAt makes a rolling presentation at that time.
	PresentAt time.Time `json:"present_at,omitzero"`
	// PresentSeed signs the presentation with another Ed25519 key.
	PresentSeed string `json:"present_seed,omitempty"`
	// Tamper flips the last byte of the first occurrence of this text in
	// the CBOR, after signing.
	Tamper string `json:"tamper,omitempty"`
	// Trust is how the terminal trusts the issuer's key.
	Trust struct {
		Issuer    string    `json:"issuer"`
		NotBefore time.Time `json:"not_before,omitzero"`
		NotAfter  time.Time `json:"not_after,omitzero"`
		Revoked   bool      `json:"revoked,omitempty"`
		OtherKey  bool      `json:"other_key,omitempty"` // trust a different key instead
	} `json:"trust"`
	VerifyAt  time.Time `json:"verify_at"`
	Tolerance string    `json:"tolerance,omitempty"`
	Expect    struct {
		Accepted   bool              `json:"accepted"`
		Reason     credential.Reason `json:"reason,omitempty"`
		Credential *expectCredential `json:"credential,omitempty"`
	} `json:"expect"`
}

// expectCredential is the verified credential a case expects.
type expectCredential struct {
	Issuer      string    `json:"issuer"`
	Index       uint32    `json:"index"`
	Colour      string    `json:"colour"`
	ColourSince time.Time `json:"colour_since"`
	DisplayName string    `json:"display_name"`
	IssuedAt    time.Time `json:"issued_at"`
	Expires     time.Time `json:"expires"`
	Rolling     bool      `json:"rolling"`
	Paper       bool      `json:"paper"`
	KeyID       string    `json:"key_id"`
}

func (e *expectCredential) credential(t *testing.T) *credential.Credential {
	t.Helper()
	colour, err := credential.ParseColour(e.Colour)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := hex.DecodeString(e.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	return &credential.Credential{
		Format: credential.FormatNative, Issuer: e.Issuer, KeyID: kid,
		Holder: credential.Holder{Kind: credential.HolderNative, Issuer: e.Issuer, Index: e.Index},
		Colour: colour, ColourSince: e.ColourSince, DisplayName: e.DisplayName,
		IssuedAt: e.IssuedAt, Expires: e.Expires, Rolling: e.Rolling, Paper: e.Paper,
	}
}

func (g *goldenCase) signer(t *testing.T, alg, seedHex string) crypto.Signer {
	t.Helper()
	s, err := hex.DecodeString(seedHex)
	if err != nil || len(s) != 32 {
		t.Fatalf("seed %q: want 32 bytes of hex", seedHex)
	}
	switch alg {
	case "EdDSA":
		return ed25519.NewKeyFromSeed(s)
	case "ES256":
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), s)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	t.Fatalf("algorithm %q: want EdDSA or ES256", alg)
	return nil
}

// deterministic reports whether the code's bytes are reproducible: every
// signature in it is Ed25519.
func (g *goldenCase) deterministic() bool {
	return g.Issuer.Alg == "EdDSA" && (g.PresentAt.IsZero() || g.Claims.HolderAlg == "EdDSA")
}

// build makes the code the case describes.
func (g *goldenCase) build(t *testing.T) (text string, issuer crypto.Signer) {
	t.Helper()
	issuer = g.signer(t, g.Issuer.Alg, g.Issuer.Seed)
	is, err := NewIssuer(g.Issuer.ID, issuer, &IssuerOptions{Clock: func() time.Time { return g.Claims.IssuedAt }})
	if err != nil {
		t.Fatal(err)
	}
	colour, err := credential.ParseColour(g.Claims.Colour)
	if err != nil {
		t.Fatal(err)
	}
	c := Claims{Index: g.Claims.Index, Colour: colour, ColourSince: g.Claims.ColourSince, DisplayName: g.Claims.Name}
	if g.Claims.TTL != "" {
		if c.TTL, err = time.ParseDuration(g.Claims.TTL); err != nil {
			t.Fatal(err)
		}
	}
	var holder crypto.Signer
	if g.Claims.HolderSeed != "" {
		holder = g.signer(t, g.Claims.HolderAlg, g.Claims.HolderSeed)
		c.HolderKey = holder.Public()
	}
	m, err := is.claimsMap(c)
	if err != nil {
		t.Fatal(err)
	}
	for k, raw := range g.Extra {
		var key int64
		if err := json.Unmarshal([]byte(k), &key); err != nil {
			t.Fatalf("extra claim key %q: %v", k, err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		m[key] = jsonToCBOR(v)
	}
	text, err = is.issueMap(m)
	if err != nil {
		t.Fatal(err)
	}
	if !g.PresentAt.IsZero() {
		p, err := NewPresenter(text, holder)
		if err != nil {
			t.Fatal(err)
		}
		if g.PresentSeed != "" {
			p.holder = g.signer(t, "EdDSA", g.PresentSeed)
		}
		if text, err = p.Code(g.PresentAt); err != nil {
			t.Fatal(err)
		}
	}
	if g.Tamper != "" {
		b, err := credentialBytes(text)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(b, []byte(g.Tamper))
		if i < 0 {
			t.Fatalf("tamper: %q not in the code", g.Tamper)
		}
		b[i+len(g.Tamper)-1] ^= 1
		text = encodeText(b)
	}
	return text, issuer
}

// jsonToCBOR turns JSON numbers into CBOR integers where they are whole.
func jsonToCBOR(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	case []any:
		for i := range x {
			x[i] = jsonToCBOR(x[i])
		}
	}
	return v
}

func (g *goldenCase) store(t *testing.T, issuer crypto.Signer) *trust.Store {
	t.Helper()
	st := trust.New()
	pub := issuer.Public()
	if g.Trust.OtherKey {
		pub = edKey("another issuer").Public()
	}
	k, err := st.AddNativeKey(g.Trust.Issuer, pub, trust.Validity{NotBefore: g.Trust.NotBefore, NotAfter: g.Trust.NotAfter})
	if err != nil {
		t.Fatal(err)
	}
	if g.Trust.Revoked {
		st.RevokeNative(k.KID)
	}
	return st
}

func (g *goldenCase) opts(t *testing.T) VerifyOptions {
	t.Helper()
	o := VerifyOptions{Now: g.VerifyAt}
	if g.Tolerance != "" {
		var err error
		if o.Tolerance, err = time.ParseDuration(g.Tolerance); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func goldenDirs(t testing.TB) []string {
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "case.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases under testdata: %v", err)
	}
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i])
	}
	return dirs
}

func loadCase(t *testing.T, dir string) *goldenCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenCase
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return &g
}

// TestGolden checks every test vector under testdata/: the stored code
// gets the expected verdict at the pinned clock, and for Ed25519 codes the
// code rebuilt from case.json carries byte-identical CBOR.
func TestGolden(t *testing.T) {
	for _, dir := range goldenDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			g := loadCase(t, dir)
			text, issuer := g.build(t)
			codePath := filepath.Join(dir, "code.txt")
			if *update {
				writeGolden(t, dir, g, text, issuer)
			}
			stored, err := os.ReadFile(codePath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			storedText := strings.TrimSpace(string(stored))
			if g.deterministic() {
				got, want := mustBytes(t, text), mustBytes(t, storedText)
				if !bytes.Equal(got, want) {
					t.Errorf("rebuilt CBOR differs from %s:\n got %x\nwant %x", codePath, got, want)
				}
				hexWant, err := os.ReadFile(filepath.Join(dir, "cbor.hex"))
				if err != nil || strings.TrimSpace(string(hexWant)) != hex.EncodeToString(want) {
					t.Errorf("cbor.hex does not match code.txt (run go test -update)")
				}
			}
			cred, err := Verify(storedText, g.store(t, issuer), g.opts(t))
			if g.Expect.Accepted {
				if err != nil {
					t.Fatalf("got %v, want accepted", err)
				}
				if g.Expect.Credential == nil {
					t.Fatal("case.json: an accepted case must give expect.credential")
				}
				if want := g.Expect.Credential.credential(t); !sameCredential(cred, want) {
					t.Errorf("got  %+v\nwant %+v", *cred, *want)
				}
				return
			}
			if got := credential.ReasonOf(err); got != g.Expect.Reason {
				t.Errorf("got reason %q (%v), want %q", got, err, g.Expect.Reason)
			}
		})
	}
}

func writeGolden(t *testing.T, dir string, g *goldenCase, text string, issuer crypto.Signer) {
	t.Helper()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("code.txt", []byte(text+"\n"))
	write("cbor.hex", []byte(hex.EncodeToString(mustBytes(t, text))+"\n"))
	pem, err := trust.MarshalNativeKey(g.Trust.Issuer, issuer.Public(), trust.Validity{NotBefore: g.Trust.NotBefore, NotAfter: g.Trust.NotAfter})
	if err != nil {
		t.Fatal(err)
	}
	write("issuer.pem", pem)
}

// TestDocQuotesVectors checks that docs/healthcode.md quotes the current
// deterministic test vectors, so that -update and the document move
// together.
func TestDocQuotesVectors(t *testing.T) {
	root := corpustest.ModuleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "healthcode.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"green-paper/code.txt", "green-paper/cbor.hex", "green-paper/issuer.pem", "rolling-ed25519/code.txt", "rolling-ed25519/cbor.hex"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, bytes.TrimSpace(b)) {
			t.Errorf("docs/healthcode.md does not quote testdata/%s: copy it into the document", name)
		}
	}
	for _, dir := range goldenDirs(t) {
		if !bytes.Contains(doc, []byte("`"+filepath.Base(dir)+"`")) {
			t.Errorf("docs/healthcode.md does not list the vector %s", filepath.Base(dir))
		}
	}
}
