package healthcode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/base45"
	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

func TestRoundTrip(t *testing.T) {
	edIssuer := edKey("issuer ZJ")
	p256Issuer := p256Key(t, "issuer ZJ p256")
	edHolder := edKey("holder 1")
	p256Holder := p256Key(t, "holder 2")
	since := testClock.Add(-72 * time.Hour)
	for _, tc := range []struct {
		name   string
		issuer crypto.Signer
		holder crypto.Signer
		claims Claims
	}{
		{"green paper ed25519", edIssuer, nil, Claims{Index: 1, Colour: credential.ColourGreen}},
		{"yellow with name", edIssuer, nil, Claims{Index: 0, Colour: credential.ColourYellow, DisplayName: "Zhang *", ColourSince: since}},
		{"red max index", edIssuer, nil, Claims{Index: 0xffffffff, Colour: credential.ColourRed, TTL: MaxPaperTTL}},
		{"es256 issuer", p256Issuer, nil, Claims{Index: 7, Colour: credential.ColourGreen, DisplayName: "张 *"}},
		{"rolling ed25519 holder", edIssuer, edHolder, Claims{Index: 12345, Colour: credential.ColourGreen, DisplayName: "Li *"}},
		{"rolling p256 holder", p256Issuer, p256Holder, Claims{Index: 12346, Colour: credential.ColourYellow, TTL: time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "HB-WH", tc.issuer)
			c := tc.claims
			if tc.holder != nil {
				c.HolderKey = tc.holder.Public()
			}
			text := f.issue(t, c)
			if tc.holder != nil {
				var err error
				text, err = Present(text, tc.holder, testClock.Add(10*time.Second))
				if err != nil {
					t.Fatalf("Present: %v", err)
				}
			}
			if !strings.HasPrefix(text, Prefix) {
				t.Fatalf("got text %.10q…, want prefix %q", text, Prefix)
			}
			got, err := Verify(text, f.store, VerifyOptions{Now: testClock.Add(20 * time.Second)})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			wantSince := c.ColourSince
			if wantSince.IsZero() {
				wantSince = testClock
			}
			ttl := c.TTL
			if ttl == 0 {
				ttl = DefaultTTL
			}
			kid := f.issuer.KeyID()
			want := credential.Credential{
				Format:      credential.FormatNative,
				Issuer:      "HB-WH",
				KeyID:       kid[:],
				Holder:      credential.Holder{Kind: credential.HolderNative, Issuer: "HB-WH", Index: c.Index},
				Colour:      c.Colour,
				ColourSince: wantSince,
				DisplayName: c.DisplayName,
				IssuedAt:    testClock,
				Expires:     testClock.Add(ttl),
				Rolling:     tc.holder != nil,
				Paper:       tc.holder == nil,
			}
			if !sameCredential(got, &want) {
				t.Errorf("got  %+v\nwant %+v", *got, want)
			}
		})
	}
}

func sameCredential(a, b *credential.Credential) bool {
	return a.Format == b.Format && a.Issuer == b.Issuer && bytes.Equal(a.KeyID, b.KeyID) &&
		a.Holder == b.Holder && a.Colour == b.Colour && a.ColourSince.Equal(b.ColourSince) &&
		a.DisplayName == b.DisplayName && a.IssuedAt.Equal(b.IssuedAt) && a.Expires.Equal(b.Expires) &&
		a.Rolling == b.Rolling && a.Paper == b.Paper && a.Facts == nil
}

// mutate decodes a code to its CBOR, lets fn change it and re-encodes it.
func mutate(t *testing.T, text string, fn func([]byte) []byte) string {
	t.Helper()
	b, err := credentialBytes(text)
	if err != nil {
		t.Fatal(err)
	}
	return encodeText(fn(b))
}

func TestRejections(t *testing.T) {
	issuerKey := edKey("issuer ZJ")
	f := newFixture(t, "ZJ", issuerKey)
	holder := edKey("holder 1")
	paper := f.issue(t, greenClaims())
	withHolder := greenClaims()
	withHolder.HolderKey = holder.Public()
	bound := f.issue(t, withHolder)
	live := func(at time.Time) string {
		t.Helper()
		s, err := Present(bound, holder, at)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hdr := f.header()
	base := func() map[int64]any { return f.baseMap(t, greenClaims()) }
	with := func(k int64, v any) map[int64]any {
		m := base()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	// Another store: the same key for another region, revoked, or
	// outside its validity.
	otherRegion := trust.New()
	otherRegion.AddNativeKey("SH", issuerKey.Public(), trust.Validity{})
	revoked := trust.New()
	k, _ := revoked.AddNativeKey("ZJ", issuerKey.Public(), trust.Validity{})
	revoked.RevokeNative(k.KID)
	rotated := trust.New()
	rotated.AddNativeKey("ZJ", issuerKey.Public(), trust.Validity{NotAfter: testClock.Add(-time.Hour)})
	p256Only := trust.New()
	p256Only.AddNativeKey("ZJ", p256Key(t, "x").Public(), trust.Validity{})

	now := testClock.Add(time.Minute)
	for _, tc := range []struct {
		name  string
		text  string
		store *trust.Store
		now   time.Time
		want  credential.Reason
	}{
		{"too large", Prefix + strings.Repeat("0", credential.MaxPayload), nil, now, credential.ReasonTooLarge},
		{"no prefix", "HC1:" + paper[len(Prefix):], nil, now, credential.ReasonUnknownFormat},
		{"lowercase prefix", "hcn1:" + paper[len(Prefix):], nil, now, credential.ReasonUnknownFormat},
		{"bad base45", paper[:len(paper)-1] + "a", nil, now, credential.ReasonBadEncoding},
		{"dangling base45", paper[:len(paper)-2], nil, now, credential.ReasonBadEncoding},
		{"not zlib", Prefix + base45.EncodeToString([]byte("plain bytes, no zlib")), nil, now, credential.ReasonBadCompression},
		{"zip bomb", encodeText(make([]byte, credential.MaxInflated+1)), nil, now, credential.ReasonBadCompression},
		{"not cbor", encodeText([]byte{0xff, 0x00}), nil, now, credential.ReasonBadStructure},
		{"trailing bytes", mutate(t, paper, func(b []byte) []byte { return append(b, 0) }), nil, now, credential.ReasonBadStructure},
		{"no trust", paper, trust.New(), now, credential.ReasonNoTrust},
		{"clock unset", paper, nil, time.Time{}, credential.ReasonClockUntrusted},
		{"unknown key", paper, p256Only, now, credential.ReasonUnknownKey},
		{"tampered payload", mutate(t, paper, func(b []byte) []byte {
			i := bytes.Index(b, []byte("Zhang"))
			b[i] = 'W'
			return b
		}), nil, now, credential.ReasonBadSignature},
		{"tampered signature", mutate(t, paper, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), nil, now, credential.ReasonBadSignature},
		{"wrong issuer", paper, otherRegion, now, credential.ReasonBadIssuer},
		{"revoked key", paper, revoked, now, credential.ReasonKeyRevoked},
		{"key not valid at issuance", paper, rotated, now, credential.ReasonKeyNotValid},
		{"issued in the future", paper, nil, testClock.Add(-31 * time.Second), credential.ReasonNotYetValid},
		{"expired", paper, nil, testClock.Add(DefaultTTL), credential.ReasonExpired},
		{"screenshot of a bound credential", bound, nil, now, credential.ReasonLiveRequired},
		{"stale rolling code", live(now.Add(-2 * time.Minute)), nil, now, credential.ReasonLiveStale},
		{"rolling code from the future", live(now.Add(2 * time.Minute)), nil, now, credential.ReasonLiveStale},
		{"rolling code of another phone", func() string {
			p := &Presenter{cred: mustBytes(t, bound), holder: edKey("thief"), alg: cose.AlgEdDSA}
			p.hash = sha(p.cred)
			s, _ := p.Code(now)
			return s
		}(), nil, now, credential.ReasonLiveSignature},
		{"rolling code for another credential", func() string {
			p, err := NewPresenter(bound, holder)
			if err != nil {
				t.Fatal(err)
			}
			p.hash[0] ^= 1
			s, _ := p.Code(now)
			return s
		}(), nil, now, credential.ReasonLiveSignature},
		{"rolling code of a paper credential", func() string {
			p := &Presenter{cred: mustBytes(t, paper), holder: holder, alg: cose.AlgEdDSA}
			p.hash = sha(p.cred)
			s, _ := p.Code(now)
			return s
		}(), nil, now, credential.ReasonBadStructure},
		{"alg does not match key", craft(t, issuerKey, map[int64]any{1: cose.AlgES256, 4: hdr[4]}, base()), nil, now, credential.ReasonBadAlgorithm},
		{"alg unprotected", craft(t, issuerKey, map[int64]any{4: hdr[4]}, base()), nil, now, credential.ReasonBadAlgorithm},
		{"kid missing", craft(t, issuerKey, map[int64]any{1: cose.AlgEdDSA}, base()), nil, now, credential.ReasonBadStructure},
		{"critical header unknown", craft(t, issuerKey, map[int64]any{1: cose.AlgEdDSA, 4: hdr[4], 2: []any{int64(99)}, 99: 1}, base()), nil, now, credential.ReasonSchema},
		{"critical claim unknown", craft(t, issuerKey, hdr, with(ClaimCrit, []any{int64(-70000)})), nil, now, credential.ReasonSchema},
		{"newer version", craft(t, issuerKey, hdr, with(ClaimVersion, uint64(2))), nil, now, credential.ReasonSchema},
		{"newer version, new types", craft(t, issuerKey, hdr, func() map[int64]any {
			m := with(ClaimVersion, uint64(2))
			m[ClaimColour] = "green"
			return m
		}()), nil, now, credential.ReasonSchema},
		{"colour out of range", craft(t, issuerKey, hdr, with(ClaimColour, uint64(4))), nil, now, credential.ReasonSchema},
		{"colour zero", craft(t, issuerKey, hdr, with(ClaimColour, uint64(0))), nil, now, credential.ReasonSchema},
		{"colour as text", craft(t, issuerKey, hdr, with(ClaimColour, "green")), nil, now, credential.ReasonBadStructure},
		{"index over 32 bits", craft(t, issuerKey, hdr, with(ClaimIndex, uint64(1)<<32)), nil, now, credential.ReasonBadStructure},
		{"index negative", craft(t, issuerKey, hdr, with(ClaimIndex, int64(-1))), nil, now, credential.ReasonBadStructure},
		{"index missing", craft(t, issuerKey, hdr, with(ClaimIndex, nil)), nil, now, credential.ReasonBadStructure},
		{"iat as float", craft(t, issuerKey, hdr, with(claimIat, float64(testClock.Unix()))), nil, now, credential.ReasonBadStructure},
		{"name not masked", craft(t, issuerKey, hdr, with(ClaimName, "Zhang Wei")), nil, now, credential.ReasonSchema},
		{"name too long", craft(t, issuerKey, hdr, with(ClaimName, strings.Repeat("Z", 70)+" *")), nil, now, credential.ReasonSchema},
		{"name with control character", craft(t, issuerKey, hdr, with(ClaimName, "Zh\x1bang *")), nil, now, credential.ReasonSchema},
		{"issuer lowercase", craft(t, issuerKey, hdr, with(claimIss, "zj")), nil, now, credential.ReasonSchema},
		{"colour since after issuance", craft(t, issuerKey, hdr, with(ClaimColourSince, uint64(testClock.Unix()+1))), nil, now, credential.ReasonSchema},
		{"paper lifetime over 7 days", craft(t, issuerKey, hdr, with(claimExp, uint64(testClock.Add(MaxPaperTTL+time.Second).Unix()))), nil, now, credential.ReasonSchema},
		{"phone lifetime over 24 hours", craft(t, issuerKey, hdr, func() map[int64]any {
			m := f.baseMap(t, withHolder)
			m[claimExp] = uint64(testClock.Add(MaxTTL + time.Second).Unix())
			return m
		}()), nil, now, credential.ReasonSchema},
		{"exp before iat", craft(t, issuerKey, hdr, with(claimExp, uint64(testClock.Unix()))), nil, now, credential.ReasonSchema},
		{"unsupported holder key", craft(t, issuerKey, hdr, with(claimCnf, map[int64]any{1: map[int64]any{1: 1, -1: 4, -2: make([]byte, 32)}})), nil, now, credential.ReasonSchema},
		{"cnf without COSE_Key", craft(t, issuerKey, hdr, with(claimCnf, map[int64]any{3: []byte("kid")})), nil, now, credential.ReasonSchema},
		{"cnf key of 31 bytes", craft(t, issuerKey, hdr, with(claimCnf, map[int64]any{1: map[int64]any{1: 1, -1: 6, -2: make([]byte, 31)}})), nil, now, credential.ReasonSchema},
		{"duplicate claim", craftRaw(t, issuerKey, hdr, dupClaims(t, base())), nil, now, credential.ReasonBadStructure},
		{"duplicate claim, longer head", craftRaw(t, issuerKey, hdr, dupClaimsLong(t, base())), nil, now, credential.ReasonBadStructure},
		{"claims not a map", craftRaw(t, issuerKey, hdr, []byte{0x80}), nil, now, credential.ReasonBadStructure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.store
			if store == nil {
				store = f.store
			}
			cred, err := Verify(tc.text, store, VerifyOptions{Now: tc.now})
			if err == nil {
				t.Fatalf("got credential %+v, want rejection %s", cred, tc.want)
			}
			var rej *credential.Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("got error %T %v, want a *credential.Rejection", err, err)
			}
			if rej.Reason != tc.want || rej.Format != credential.FormatNative {
				t.Errorf("got %s (%v), want %s", rej.Reason, err, tc.want)
			}
		})
	}
}

func mustBytes(t *testing.T, text string) []byte {
	t.Helper()
	b, err := credentialBytes(text)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

func p384Signer(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dupClaims encodes m and appends a second iss entry, which deterministic
// encoders cannot produce.
func dupClaims(t *testing.T, m map[int64]any) []byte {
	t.Helper()
	b, err := cose.EncMode().Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	n := b[0] & 0x1f
	if n >= 23 {
		t.Fatal("map too big for this helper")
	}
	out := []byte{0xa0 | (n + 1)}
	out = append(out, b[1:]...)
	return append(out, 0x01, 0x62, 'S', 'H')
}

// dupClaimsLong appends a second iss entry whose key 1 is written in two
// bytes (18 01): a duplicate by value, not by bytes.
func dupClaimsLong(t *testing.T, m map[int64]any) []byte {
	t.Helper()
	b := dupClaims(t, m)
	return append(b[:len(b)-4], 0x18, 0x01, 0x62, 'S', 'H')
}

func TestAcceptsForwardCompatibleCodes(t *testing.T) {
	issuerKey := edKey("issuer ZJ")
	f := newFixture(t, "ZJ", issuerKey)
	m := f.baseMap(t, greenClaims())
	m[-70000] = map[any]any{"future": []any{1, 2.5, true}} // unknown, not critical
	m[ClaimCrit] = []any{int64(ClaimIndex), int64(ClaimColour)}
	m[5] = uint64(1) // nbf: registered but not used by the native code
	hdr := f.header()
	hdr[99] = "unknown header parameter"
	cred, err := Verify(craft(t, issuerKey, hdr, m), f.store, VerifyOptions{Now: testClock})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if cred.Holder.Index != 12345 || cred.Colour != credential.ColourGreen {
		t.Errorf("got holder %v colour %v, want ZJ:12345 green", cred.Holder, cred.Colour)
	}
}

func TestTolerance(t *testing.T) {
	f := newFixture(t, "ZJ", edKey("issuer ZJ"))
	holder := edKey("holder 1")
	c := greenClaims()
	c.HolderKey = holder.Public()
	p, err := NewPresenter(f.issue(t, c), holder)
	if err != nil {
		t.Fatal(err)
	}
	now := testClock.Add(10*time.Minute + 15*time.Second) // mid-step
	cur := StepOf(now)
	for _, tc := range []struct {
		tol      time.Duration
		offset   int64
		wantLive bool
	}{
		{0, -2, false}, {0, -1, true}, {0, 0, true}, {0, 1, true}, {0, 2, false},
		{-1, -1, false}, {-1, 0, true}, {-1, 1, false},
		{90 * time.Second, -3, true}, {90 * time.Second, 3, true}, {90 * time.Second, -4, false}, {90 * time.Second, 4, false},
		{10 * time.Second, -1, false}, {20 * time.Second, -1, true}, {20 * time.Second, 1, true},
	} {
		code, err := p.code(uint64(int64(cur) + tc.offset))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Verify(code, f.store, VerifyOptions{Now: now, Tolerance: tc.tol})
		if got := err == nil; got != tc.wantLive {
			t.Errorf("tolerance %v, step %+d: got accepted %v (%v), want %v", tc.tol, tc.offset, got, err, tc.wantLive)
		}
		if err != nil && credential.ReasonOf(err) != credential.ReasonLiveStale {
			t.Errorf("tolerance %v, step %+d: got %s, want %s", tc.tol, tc.offset, credential.ReasonOf(err), credential.ReasonLiveStale)
		}
	}
}

func TestIssueRefuses(t *testing.T) {
	f := newFixture(t, "ZJ", edKey("issuer ZJ"))
	for _, tc := range []struct {
		name string
		c    Claims
	}{
		{"no colour", Claims{Index: 1}},
		{"colour 4", Claims{Index: 1, Colour: 4}},
		{"unmasked name", Claims{Colour: credential.ColourGreen, DisplayName: "Zhang Wei"}},
		{"bare star", Claims{Colour: credential.ColourGreen, DisplayName: " *"}},
		{"phone code for two days", Claims{Colour: credential.ColourGreen, TTL: 48 * time.Hour, HolderKey: edKey("h").Public()}},
		{"paper code for eight days", Claims{Colour: credential.ColourGreen, TTL: 8 * 24 * time.Hour}},
		{"negative ttl", Claims{Colour: credential.ColourGreen, TTL: -time.Hour}},
		{"since after issuance", Claims{Colour: credential.ColourGreen, ColourSince: testClock.Add(time.Hour)}},
		{"rsa holder key", Claims{Colour: credential.ColourGreen, HolderKey: "not a key"}},
		{"clock at 1970", Claims{Colour: credential.ColourGreen, IssuedAt: time.Unix(0, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if text, err := f.issuer.Issue(tc.c); err == nil {
				t.Errorf("got code %.20q…, want an error", text)
			}
		})
	}
	if _, err := NewIssuer("zj", edKey("x"), nil); err == nil {
		t.Error("NewIssuer(\"zj\"): got no error, want an invalid issuer")
	}
	if _, err := NewIssuer("ZJ", p384Signer(t), nil); !errors.Is(err, ErrKey) {
		t.Errorf("NewIssuer with a P-384 key: got %v, want ErrKey", err)
	}
}

func TestPresenterRefuses(t *testing.T) {
	f := newFixture(t, "ZJ", edKey("issuer ZJ"))
	holder := edKey("holder 1")
	if _, err := NewPresenter(f.issue(t, greenClaims()), holder); !errors.Is(err, ErrPaper) {
		t.Errorf("paper credential: got %v, want ErrPaper", err)
	}
	c := greenClaims()
	c.HolderKey = holder.Public()
	bound := f.issue(t, c)
	if _, err := NewPresenter(bound, edKey("someone else")); !errors.Is(err, ErrNotHolder) {
		t.Errorf("another holder's key: got %v, want ErrNotHolder", err)
	}
	live, err := Present(bound, holder, testClock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPresenter(live, holder); err == nil {
		t.Error("presenting a presentation: got no error")
	}
	if _, err := NewPresenter("HC1:6BF", holder); err == nil {
		t.Error("presenting an EU DCC: got no error")
	}
}

// TestDecodeDoesNotAlias checks that a decoded code does not share the
// pooled buffers of later decodings.
func TestDecodeDoesNotAlias(t *testing.T) {
	f := newFixture(t, "ZJ", edKey("issuer ZJ"))
	holder := edKey("holder 1")
	c := greenClaims()
	c.HolderKey = holder.Public()
	live, err := Present(f.issue(t, c), holder, testClock)
	if err != nil {
		t.Fatal(err)
	}
	u, err := Decode(live)
	if err != nil {
		t.Fatal(err)
	}
	if kid := f.issuer.KeyID(); !u.Rolling() || !bytes.Equal(u.KeyID(), kid[:]) {
		t.Errorf("got rolling=%v kid %x, want rolling, kid %x", u.Rolling(), u.KeyID(), kid)
	}
	other := Claims{Index: 99, Colour: credential.ColourRed, DisplayName: "Wang *"}
	for range 5 {
		if _, err := Decode(f.issue(t, other)); err != nil {
			t.Fatal(err)
		}
	}
	cred, err := u.Verify(f.store, VerifyOptions{Now: testClock})
	if err != nil {
		t.Fatalf("Verify after other decodings: %v", err)
	}
	if cred.Holder.Index != 12345 || !cred.Rolling {
		t.Errorf("got %v rolling=%v, want ZJ:12345 rolling", cred.Holder, cred.Rolling)
	}
}

// TestSharedKeyID covers one public key registered twice: for two
// regions, and for two windows after a rotation.
func TestSharedKeyID(t *testing.T) {
	k := edKey("issuer ZJ")
	f := newFixture(t, "ZJ", k)
	text := f.issue(t, greenClaims())
	st := trust.New()
	st.AddNativeKey("SH", k.Public(), trust.Validity{})
	st.AddNativeKey("ZJ", k.Public(), trust.Validity{NotAfter: testClock.Add(-time.Hour)})
	st.AddNativeKey("ZJ", k.Public(), trust.Validity{NotBefore: testClock.Add(-time.Minute)})
	if got := len(st.NativeKeys(f.key.KID[:])); got != 3 {
		t.Fatalf("got %d keys for the kid, want 3", got)
	}
	if _, err := Verify(text, st, VerifyOptions{Now: testClock}); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestStepOf(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want uint64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(29, 999), 0},
		{time.Unix(30, 0), 1},
		{time.Unix(-100, 0), 0},
		{time.Unix(1772352000, 0), 59078400},
	} {
		if got := StepOf(tc.t); got != tc.want {
			t.Errorf("StepOf(%d): got %d, want %d", tc.t.Unix(), got, tc.want)
		}
	}
}

// TestVerifyWithoutGarbage: verifying a decoded paper code allocates the
// credential it returns and nothing else; it runs for every code shown at
// the gate.
func TestVerifyWithoutGarbage(t *testing.T) {
	f := newFixture(t, "HB-WH", edKey("issuer ZJ"))
	u, err := Decode(f.issue(t, Claims{Index: 1, Colour: credential.ColourGreen}))
	if err != nil {
		t.Fatal(err)
	}
	opts := VerifyOptions{Now: testClock.Add(20 * time.Second)}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := u.Verify(f.store, opts); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("Verify made %v allocations, want 1 (the credential)", n)
	}
}
