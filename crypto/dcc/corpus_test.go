package dcc

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/crypto/valueset"
	"sentinel/device/camera"
	"sentinel/internal/corpustest"
)

// The conformance test runs every case of the EU DCC developer test set
// (../shared/corpus/eu-dcc, see its README) through the pipeline, stage by
// stage, and asserts each EXPECTEDRESULTS key that applies to a verifier.

// stage names one step of the pipeline as the corpus's EXPECTEDRESULTS
// keys name it.
type stage string

const (
	stPicture     stage = "EXPECTEDPICTUREDECODE"
	stUnprefix    stage = "EXPECTEDUNPREFIX"
	stB45         stage = "EXPECTEDB45DECODE"
	stCompression stage = "EXPECTEDCOMPRESSION"
	stVerify      stage = "EXPECTEDVERIFY"
	stDecode      stage = "EXPECTEDDECODE"
	stValidJSON   stage = "EXPECTEDVALIDJSON"
	stExpiration  stage = "EXPECTEDEXPIRATIONCHECK"
	stKeyUsage    stage = "EXPECTEDKEYUSAGE"
	stSchema      stage = "EXPECTEDSCHEMAVALIDATION"
)

// stages in pipeline order.
var stages = []stage{stPicture, stUnprefix, stB45, stCompression, stVerify, stDecode, stValidJSON, stExpiration, stKeyUsage, stSchema}

// stageReasons are the reasons a failing stage may give: the mapping of
// the corpus's stages to reason codes (docs/reasons.md).
var stageReasons = map[stage][]credential.Reason{
	stUnprefix:    {credential.ReasonUnknownFormat, credential.ReasonTooLarge},
	stB45:         {credential.ReasonBadEncoding},
	stCompression: {credential.ReasonBadCompression},
	stVerify: {credential.ReasonBadStructure, credential.ReasonUnknownKey, credential.ReasonBadSignature,
		credential.ReasonBadAlgorithm, credential.ReasonKeyRevoked},
	stDecode:     {credential.ReasonBadStructure},
	stValidJSON:  {credential.ReasonBadStructure},
	stExpiration: {credential.ReasonExpired, credential.ReasonNotYetValid, credential.ReasonKeyNotValid, credential.ReasonBadStructure},
	stKeyUsage:   {credential.ReasonKeyUsage},
	stSchema:     {credential.ReasonSchema, credential.ReasonValueSet},
}

// ignoredKeys are EXPECTEDRESULTS keys that do not apply to a verifier, or
// are not keys of the test-case schema at all.
var ignoredKeys = map[string]string{
	"EXPECTEDVALIDOBJECT": "generation side",
	"EXPECTEDENCODE":      "generation side",
	"EXPTECTEDEXPIRED":    "misspelled key in ES 201-203, ignored by the upstream harness; the certificates are not expired at VALIDATIONCLOCK",
	"EXPECTEDRESULTS":     "nested by mistake in ES 1001-1003; names no stage",
}

// exception is a corpus expectation we are convinced is wrong, or that we
// refuse by decision: on Stage, for the listed Cases (or, when Cases is
// nil, for the cases of Country whose JSON Match selects), we give Got
// instead of the expectation. The test checks that we do.
type exception struct {
	Stage   stage
	Cases   []string
	Country string
	Match   func(doc map[string]any, clock time.Time) bool
	Got     bool
	Why     string
}

// exceptions is the one table of disagreements with the corpus.
var exceptions = []exception{
	{Stage: stVerify, Cases: []string{"ES/401", "ES/402", "ES/403"}, Got: false,
		Why: "alg ES256 (-7) over a P-384 DSC key with a 96-byte signature (upstream known issue #228): the eHealth " +
			"Network allows only ES256 on P-256 and PS256, so the lead decided to refuse it (bad-algorithm)"},
	{Stage: stSchema, Cases: []string{"RO/2", "SK/3"}, Got: false,
		Why: "two entries in the v group: the eHN guidelines allow exactly one entry, schema 1.3.0 made it explicit " +
			"(maxItems 1), and a gate could not tell which entry to judge (upstream known_issues.csv lists RO and SK)"},
	{Stage: stSchema, Cases: []string{"HU/3"}, Got: false,
		Why: "ci (52 characters) and tc (115) exceed the schema's maxLength of 50/80 in every version (upstream known_issues.csv lists HU)"},
	{Stage: stDecode, Cases: []string{"FR/test_pcr_ok"}, Got: false,
		Why: "the case's JSON says sc 12:34:56Z and dr 12:45:01Z, the signed payload 14:34:56Z and 14:45:01Z: " +
			"the JSON is not what was encoded (upstream known_issues.csv lists FR test_pcr_ok)"},
	{Stage: stSchema, Country: "NL", Got: false, Match: entryField("co", ""),
		Why: "NL expects an empty co to pass; every schema version gives co the pattern [A-Z]{1,10}, which needs a letter"},
	{Stage: stSchema, Country: "NL", Got: false, Match: zeroDose,
		Why: "NL expects dn or sd 0 to pass; every schema version requires a positive integer (dose_posint, minimum 1)"},
	{Stage: stSchema, Country: "NL", Got: true, Match: gnWithoutGnt,
		Why: "NL expects a gn (three emoji) with an empty gnt to fail; gnt is optional and ^[A-Z<]*$ allows it empty in every " +
			"schema version (1.3.2 requires fnt or gnt, and fnt is there), and no EU rule reads gnt (upstream known issue NL #107)"},

	// Codes outside the EU value sets in cases whose expectation checked
	// the schema alone. EU verifiers refused these certificates through
	// the EU business rules that test the same lists (GR-EU-0001 tg,
	// TR-EU-0001 tt, TR-EU-0002 a rapid test's device, VR-EU-0001 mp) and
	// the countries' rules (vp, ma, tr), and so do we (value-set).
	{Stage: stSchema, Country: "NL", Got: false, Match: entryField("tt", "a test"),
		Why: "value sets: NL's test cases carry the free text \"a test\" in tt, not a code of covid-19-lab-test-type; EU verifiers refused it (TR-EU-0001)"},
	{Stage: stSchema, Country: "NL", Got: false, Match: emptyCode("vp", "mp", "ma", "tr"),
		Why: "value sets: NL cases with an empty vp, mp, ma or tr, which is in no value set; EU verifiers refused them (VR-EU-0001 for mp, the countries' rules for the rest)"},
	{Stage: stSchema, Cases: []string{"ES/1101"}, Got: false,
		Why: "value sets: ES test code 729999 in tg, vp, mp and ma, in none of the value sets (GR-EU-0001 refuses the tg)"},
	{Stage: stSchema, Cases: []string{"ES/1103"}, Got: false,
		Why: "value sets: tg 94558-4 is a LOINC test code, not the SNOMED disease code 840539006, and tr is the Spanish word NEGATIVO (GR-EU-0001)"},
	{Stage: stSchema, Cases: []string{"HU/1"}, Got: false,
		Why: "value sets: mp holds the product's name \"COVID-19 Vaccine Moderna\", not its code EU/1/20/1507 (VR-EU-0001)"},
	{Stage: stSchema, Cases: []string{"SM/1", "SM/2", "SM/3", "SM/4", "SM/5"}, Got: false,
		Why: "value sets: ma ORG-1000030215 has one 0 too many (BioNTech is ORG-100030215), in no value set"},
}

// emptyCode matches an entry in which one of the fields is present and
// empty.
func emptyCode(fields ...string) func(map[string]any, time.Time) bool {
	return func(doc map[string]any, _ time.Time) bool {
		e := entry(doc)
		for _, f := range fields {
			if s, ok := e[f].(string); ok && s == "" {
				return true
			}
		}
		return false
	}
}

func entry(doc map[string]any) map[string]any {
	for _, g := range []string{"v", "t", "r"} {
		if l, ok := doc[g].([]any); ok && len(l) > 0 {
			e, _ := l[0].(map[string]any)
			return e
		}
	}
	return nil
}

func entryField(k, v string) func(map[string]any, time.Time) bool {
	return func(doc map[string]any, _ time.Time) bool {
		s, ok := entry(doc)[k].(string)
		return ok && s == v
	}
}

func zeroDose(doc map[string]any, _ time.Time) bool {
	e := entry(doc)
	return e["dn"] == 0.0 || e["sd"] == 0.0
}

func gnWithoutGnt(doc map[string]any, _ time.Time) bool {
	nam, _ := doc["nam"].(map[string]any)
	gn, _ := nam["gn"].(string)
	gnt, _ := nam["gnt"].(string)
	return gn != "" && gnt == ""
}

// exceptionFor returns the exception that covers a case's stage, if any.
func exceptionFor(key string, s stage, c *corpusCase) *exception {
	cc, _, _ := strings.Cut(key, "/")
	var doc map[string]any
	_ = json.Unmarshal(c.JSON, &doc)
	clock, _ := parseClock(c.TESTCTX.VALIDATIONCLOCK)
	for i := range exceptions {
		ex := &exceptions[i]
		if ex.Stage != s {
			continue
		}
		if ex.Cases != nil && slices.Contains(ex.Cases, key) {
			return ex
		}
		if ex.Cases == nil && ex.Country == cc && doc != nil && ex.Match(doc, clock) {
			return ex
		}
	}
	return nil
}

// corpusCase is one test-case file.
type corpusCase struct {
	JSON       json.RawMessage `json:"JSON"`
	CBOR       string          `json:"CBOR"`
	COSE       string          `json:"COSE"`
	COMPRESSED string          `json:"COMPRESSED"`
	BASE45     string          `json:"BASE45"`
	PREFIX     string          `json:"PREFIX"`
	Code       string          `json:"2DCODE"`
	CodeLV     string          `json:"_2DCODE"`
	TESTCTX    struct {
		CERTIFICATE     string `json:"CERTIFICATE"`
		VALIDATIONCLOCK string `json:"VALIDATIONCLOCK"`
		DESCRIPTION     string `json:"DESCRIPTION"`
	} `json:"TESTCTX"`
	EXPECTEDRESULTS map[string]any `json:"EXPECTEDRESULTS"`
}

var caseRE = regexp.MustCompile(`(?i)(^|/)2dcode/raw/[^/]+\.json$`)

// corpusCases returns the case files, relative to dir, sorted.
func corpusCases(t testing.TB, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.IsDir() && caseRE.MatchString(filepath.ToSlash(rel)) {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// caseKey is "CC/name" for a case path.
func caseKey(rel string) string {
	cc, _, _ := strings.Cut(rel, "/")
	return cc + "/" + strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel))
}

// parseClock reads a VALIDATIONCLOCK in any of the corpus's variants.
func parseClock(s string) (time.Time, error) {
	t := ParseTime(s)
	if t.IsZero() {
		return t, fmt.Errorf("VALIDATIONCLOCK %q: not an ISO 8601 date-time", s)
	}
	return t, nil
}

// outcome is what one stage did: ok, or the rejection.
type outcome struct {
	ran bool
	err error
}

func (o outcome) ok() bool { return o.ran && o.err == nil }

// runStages runs each stage of the pipeline on a case in isolation (a
// stage gets the output of the stages before it, and its own inputs from
// the case when an earlier stage could not give them).
func runStages(c *corpusCase, dec *camera.Decoder, pngFile string, vs *valueset.Sets) map[stage]outcome {
	out := map[stage]outcome{}
	set := func(s stage, err error) { out[s] = outcome{true, err} }

	// Picture: the PNG in 2DCODE (or beside the case) decodes to PREFIX.
	if b64 := c.Code + c.CodeLV; b64 != "" {
		png, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			set(stPicture, fmt.Errorf("2DCODE is not base64: %w", err))
		} else {
			set(stPicture, pictureDecode(dec, png, c.PREFIX))
		}
	} else if pngFile != "" {
		png, err := os.ReadFile(pngFile)
		if err == nil {
			err = pictureDecode(dec, png, c.PREFIX)
		}
		set(stPicture, err)
	}

	// Unprefix: "HC1:" present, and PREFIX is "HC1:"+BASE45.
	body, err := unprefix([]byte(c.PREFIX))
	if err == nil && c.BASE45 != "" && string(body) != c.BASE45 {
		err = fmt.Errorf("PREFIX is not HC1: + BASE45")
	}
	set(stUnprefix, err)
	if body == nil {
		body = []byte(c.BASE45) // go on from the case's own Base45
	}

	// Base45: decodes, and to COMPRESSED when the case gives it.
	compressed, err := debase45(nil, body)
	if err == nil && c.COMPRESSED != "" && !strings.EqualFold(hex.EncodeToString(compressed), c.COMPRESSED) {
		err = fmt.Errorf("Base45 decodes to %x, want COMPRESSED", compressed)
	}
	set(stB45, err)
	if err != nil {
		compressed, _ = hex.DecodeString(c.COMPRESSED)
	}

	// Compression: zlib inflates, to COSE when the case gives it.
	coseMsg, err := unzlib(nil, compressed)
	if err == nil && c.COSE != "" && !strings.EqualFold(hex.EncodeToString(coseMsg), c.COSE) {
		err = fmt.Errorf("zlib inflates to something else than COSE")
	}
	set(stCompression, err)
	if err != nil {
		coseMsg, _ = hex.DecodeString(c.COSE)
	}

	// Verify: COSE parses, and its kid and signature match the DSC.
	var u Unverified
	cert, certErr := parseCert(c.TESTCTX.CERTIFICATE)
	store := trust.New()
	var dsc *trust.DSC
	if certErr == nil {
		dsc, certErr = store.AddDSC(cert)
	}
	coseErr := u.parseCOSE(coseMsg)
	switch {
	case coseErr != nil:
		set(stVerify, coseErr)
	case certErr != nil:
		set(stVerify, fmt.Errorf("DSC: %w", certErr))
	default:
		_, err := u.verifySignature(store)
		set(stVerify, err)
	}
	if coseErr != nil {
		return out
	}

	// Decode: the CWT decodes; the hcert is well-formed, and equals JSON.
	claims, err := decodeClaims(u.msg.Payload)
	var tree any
	if err == nil {
		tree, err = JSONTree(claims.HCert.V1)
		if err == nil && len(c.JSON) > 0 && string(c.JSON) != "null" {
			err = sameJSON(tree, c.JSON)
		}
	}
	set(stDecode, err)
	if claims == nil || tree == nil {
		return out
	}
	_, err = json.Marshal(tree)
	set(stValidJSON, err)

	var p content
	hcertErr := decodeHCert(claims.HCert.V1, &p.HCert)
	p.Issuer, p.IssuedAt, p.Expires = claims.Iss, claims.Iat.Time(), claims.Exp.Time()

	// Expiration: DSC notBefore ≤ iat ≤ clock ≤ exp ≤ DSC notAfter.
	if dsc != nil {
		now, err := parseClock(c.TESTCTX.VALIDATIONCLOCK)
		if err == nil {
			err = checkTime(dsc, &p, now, 0)
		}
		set(stExpiration, err)
	}

	// Key usage: the DSC may sign this type (the groups present, read from
	// the JSON values so that content the schema refuses is still judged).
	if dsc != nil {
		doc, _ := tree.(map[string]any)
		has := func(g string) bool { l, _ := doc[g].([]any); return len(l) > 0 }
		set(stKeyUsage, checkUsage(dsc.Cert, has("v"), has("t"), has("r")))
	}

	// Schema: exactly one of v/t/r, the official schema of ver, and the
	// codes against the value sets (which the issuers' test data counts
	// as part of schema validation).
	err = hcertErr
	if err == nil {
		err = p.HCert.checkOne()
	}
	if err == nil {
		err = validateSchema(claims.HCert.V1, p.HCert.Ver)
	}
	if err == nil {
		err = checkBirth(p.HCert.DOB, p.IssuedAt)
	}
	out[stSchemaOnly] = outcome{true, err}
	if err == nil {
		p.HCert.lenient()
		_, err = p.HCert.checkValueSets(vs)
	}
	set(stSchema, err)
	return out
}

// stSchemaOnly is the schema stage without the value sets, kept to report
// what the value sets change.
const stSchemaOnly stage = "schema without value sets"

func parseCert(b64 string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func pictureDecode(dec *camera.Decoder, png []byte, want string) error {
	res, err := decodePNG(dec, png)
	if err != nil {
		return err
	}
	if res.Text() != want {
		return fmt.Errorf("the picture holds a different code than PREFIX")
	}
	return nil
}

// pngCache keeps the decoder's answer per image (by SHA-256): most PNG
// files of the corpus are the inline 2DCODE images of its cases, and the
// two tests need not decode them twice.
var pngCache sync.Map // [32]byte → pngResult

type pngResult struct {
	res camera.Result
	err error
}

// decodePNG runs the project's QR decoder on a PNG image.
func decodePNG(dec *camera.Decoder, png []byte) (camera.Result, error) {
	key := sha256.Sum256(png)
	if r, ok := pngCache.Load(key); ok {
		return r.(pngResult).res, r.(pngResult).err
	}
	img, err := camera.LoadGray(bytes.NewReader(png))
	var res camera.Result
	if err == nil {
		res, err = dec.Decode(img)
	}
	pngCache.Store(key, pngResult{res, err})
	return res, err
}

// sameJSON compares a decoded hcert with the case's JSON, numbers as
// numbers.
func sameJSON(tree any, want json.RawMessage) error {
	got, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		return err
	}
	if err := json.Unmarshal(want, &b); err != nil {
		return err
	}
	if !sameValue(a, b) {
		return fmt.Errorf("the payload differs from the case's JSON")
	}
	return nil
}

// sameValue is reflect.DeepEqual, except that two date-time strings that
// name the same instant ("…Z" and "…+00:00") are equal.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		tx, ty := ParseTime(x), ParseTime(y)
		return strings.Contains(x, "T") && !tx.IsZero() && tx.Equal(ty)
	}
	return reflect.DeepEqual(a, b)
}

type tally struct {
	total, match, excepted, noImage int
}

// casePNG finds the image of a case that has no inline 2DCODE:
// <CC>/png/<name>.png or <CC>/2DCode/png/<name>.png, where FR's names drop
// the case's "_Raw" suffix and may write '-' for '_', and IE adds "_qr"
// (its "_aztec" images are not QR codes).
func casePNG(dir, rel string) string {
	caseDir := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Join(dir, rel)))) // <CC> (or PT/<ver>)
	name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(rel), ".json"), "_Raw")
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "_")) }
	for _, d := range []string{filepath.Join(caseDir, "png"), filepath.Join(caseDir, "2DCode", "png")} {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			base := e.Name()
			stem := norm(strings.TrimSuffix(base, filepath.Ext(base)))
			if (stem == norm(name) || stem == norm(name)+"_qr") && strings.EqualFold(filepath.Ext(base), ".png") {
				return filepath.Join(d, base)
			}
		}
	}
	return ""
}

func TestCorpus(t *testing.T) {
	dir := corpustest.Dir(t, "eu-dcc")
	vs, _, err := valueset.LoadDir(corpustest.Dir(t, "eu-dcc-valuesets"))
	if err != nil {
		t.Fatal(err)
	}
	files := corpusCases(t, dir)
	if len(files) == 0 {
		t.Fatalf("no test cases under %s", dir)
	}
	var (
		mu      sync.Mutex
		perStep = map[stage]*tally{}
		ignored = map[string]int{}
		exUsed  = map[*exception]int{}
		noImage []string
		fullRej int
		// The schema expectations without and with the value sets, and
		// the refusals for a code.
		before, after    tally
		byCode           = map[string]int{}
		codeRefusedFalse int
	)
	for _, s := range stages {
		perStep[s] = new(tally)
	}
	decoders := sync.Pool{New: func() any { return camera.NewDecoder() }}
	t.Run("cases", func(t *testing.T) {
		for _, rel := range files {
			key := caseKey(rel)
			t.Run(key, func(t *testing.T) {
				t.Parallel()
				var c corpusCase
				b, err := os.ReadFile(filepath.Join(dir, rel))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &c); err != nil {
					t.Fatalf("%s: %v", rel, err)
				}
				dec := decoders.Get().(*camera.Decoder)
				got := runStages(&c, dec, casePNG(dir, rel), vs)
				decoders.Put(dec)

				mu.Lock()
				defer mu.Unlock()
				if want, ok := c.EXPECTEDRESULTS[string(stSchema)].(bool); ok && got[stSchemaOnly].ran {
					for _, x := range []struct {
						tl *tally
						o  outcome
					}{{&before, got[stSchemaOnly]}, {&after, got[stSchema]}} {
						x.tl.total++
						if x.o.ok() == want {
							x.tl.match++
						} else if ex := exceptionFor(key, stSchema, &c); ex != nil && x.o.ok() == ex.Got {
							x.tl.excepted++
						}
					}
					var r *credential.Rejection
					if errors.As(got[stSchema].err, &r) && r.Reason == credential.ReasonValueSet {
						byCode[r.Field+" "+quoteCode(r.Code)]++
						if !want {
							codeRefusedFalse++
						}
					}
				}
				anyFalse := false
				for k, v := range c.EXPECTEDRESULTS {
					if _, ok := ignoredKeys[k]; ok {
						ignored[k]++
						continue
					}
					want, ok := v.(bool)
					if !ok {
						t.Errorf("%s: %s is %v, not a boolean", rel, k, v)
						continue
					}
					s := stage(k)
					if _, known := stageReasons[s]; !known && s != stPicture {
						t.Errorf("%s: unknown expectation key %s", rel, k)
						continue
					}
					tl := perStep[s]
					tl.total++
					o := got[s]
					if !o.ran && s == stPicture {
						// No image, inline or beside the case (common/B1):
						// nothing to decode, and said so in the summary.
						tl.noImage++
						noImage = append(noImage, key)
						continue
					}
					if !o.ran {
						// A stage cannot run when an earlier one failed.
						if !want {
							tl.match++
							continue
						}
						t.Errorf("%s (%s): %s=true, but the stage could not run", rel, c.TESTCTX.DESCRIPTION, k)
						continue
					}
					if o.ok() != want {
						if ex := exceptionFor(key, s, &c); ex != nil {
							if o.ok() != ex.Got {
								t.Errorf("%s: %s: the exception table says we give %v (%s), got %v (%v)", rel, k, ex.Got, ex.Why, o.ok(), o.err)
								continue
							}
							tl.excepted++
							exUsed[ex]++
							continue
						}
						t.Errorf("%s (%s): %s: got %v (%v), want %v", rel, c.TESTCTX.DESCRIPTION, k, o.ok(), o.err, want)
						continue
					}
					if !want && s != stPicture {
						if r := credential.ReasonOf(o.err); !slicesContains(stageReasons[s], r) {
							t.Errorf("%s: %s failed with reason %q (%v), want one of %v", rel, k, r, o.err, stageReasons[s])
							continue
						}
						anyFalse = true
					}
					tl.match++
				}

				// The whole pipeline refuses every case with a false
				// expectation, with a typed rejection.
				if anyFalse {
					now, _ := parseClock(c.TESTCTX.VALIDATIONCLOCK)
					cred, err := pipeline(&c, now, vs)
					if err == nil {
						t.Errorf("%s: the pipeline accepted a case that expects a failure: %+v", rel, cred)
					} else if credential.ReasonOf(err) == "" {
						t.Errorf("%s: untyped error %v", rel, err)
					} else {
						fullRej++
					}
				}
			})
		}
	})
	var total, match, excepted int
	var b strings.Builder
	fmt.Fprintf(&b, "EU DCC corpus: %d cases\n", len(files))
	for _, s := range stages {
		tl := perStep[s]
		total += tl.total
		match += tl.match
		excepted += tl.excepted
		fmt.Fprintf(&b, "  %-26s %4d expectations, %4d match, %3d listed exceptions", s, tl.total, tl.match, tl.excepted)
		if tl.noImage > 0 {
			sort.Strings(noImage)
			fmt.Fprintf(&b, ", %d without an image in the corpus (%v)", tl.noImage, noImage)
		}
		b.WriteString("\n")
		total -= tl.noImage
	}
	fmt.Fprintf(&b, "  total: %d expectations, %d match (%.1f %%), %d listed exceptions; %d cases with a false expectation refused by the full pipeline\n",
		total, match, 100*float64(match)/float64(max(total, 1)), excepted, fullRej)
	fmt.Fprintf(&b, "  schema expectations without value sets: %d, %d match, %d listed exceptions; with them: %d match, %d listed exceptions\n",
		before.total, before.match, before.excepted, after.match, after.excepted)
	var codes []string
	for k, n := range byCode {
		codes = append(codes, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(codes)
	fmt.Fprintf(&b, "  refused for a code outside the value sets: %d cases, %d of them expecting a schema failure (%s)\n",
		sumOf(byCode), codeRefusedFalse, strings.Join(codes, ", "))
	for i := range exceptions {
		ex := &exceptions[i]
		who := strings.Join(ex.Cases, " ")
		if who == "" {
			who = ex.Country + " cases matching the rule"
		}
		fmt.Fprintf(&b, "  exception %s, %s: %d (%s)\n", ex.Stage, who, exUsed[ex], ex.Why)
		if exUsed[ex] == 0 && !t.Failed() {
			t.Errorf("exception %s, %s no longer applies to any case: remove it from the table (%s)", ex.Stage, who, ex.Why)
		}
	}
	for k, n := range ignored {
		fmt.Fprintf(&b, "  ignored key %s: %d (%s)\n", k, n, ignoredKeys[k])
	}
	t.Log(b.String())
	if total != match+excepted && !t.Failed() {
		t.Errorf("tally: %d expectations, %d match, %d excepted", total, match, excepted)
	}
}

func sumOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func slicesContains(rs []credential.Reason, r credential.Reason) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// pipeline runs the public API on a case: the DSC in a store, the PREFIX
// through a Verifier at VALIDATIONCLOCK, with the schema and the value
// sets vs.
func pipeline(c *corpusCase, now time.Time, vs *valueset.Sets) (*credential.Credential, error) {
	store := trust.New()
	store.SetValueSets(vs)
	if cert, err := parseCert(c.TESTCTX.CERTIFICATE); err == nil {
		if _, err := store.AddDSC(cert); err != nil {
			return nil, err
		}
	}
	store.SetPseudonymKey([]byte("corpus pseudonym key"))
	if store.Len() == 0 {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonNoTrust, "no DSC")
	}
	return NewVerifier(store).Verify([]byte(c.PREFIX), Options{Now: now})
}

// TestCorpusPNG runs every PNG file of the corpus through the project's
// QR decoder: each must give an "HC1:" code that Decode takes apart.
func TestCorpusPNG(t *testing.T) {
	dir := corpustest.Dir(t, "eu-dcc")
	var files []string
	pngRE := regexp.MustCompile(`(?i)^[^/]+(/[0-9.]+)?(/2dcode)?/png/[^/]+\.png$`)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.IsDir() && pngRE.MatchString(filepath.ToSlash(rel)) {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu                  sync.Mutex
		decoded, aztec, hc1 int
	)
	t.Run("png", func(t *testing.T) {
		for _, rel := range files {
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				if strings.Contains(strings.ToLower(filepath.Base(rel)), "aztec") {
					// IE ships Aztec barcodes beside its QR codes; the
					// terminal reads QR only.
					mu.Lock()
					aztec++
					mu.Unlock()
					t.Skip("Aztec barcode, not QR")
				}
				png, err := os.ReadFile(filepath.Join(dir, rel))
				if err != nil {
					t.Fatal(err)
				}
				res, err := decodePNG(camera.NewDecoder(), png)
				if err != nil {
					t.Fatalf("%s: %v", rel, err)
				}
				mu.Lock()
				decoded++
				mu.Unlock()
				if !strings.HasPrefix(res.Text(), Prefix) {
					t.Fatalf("%s: decodes to %.12q…, not an HC1 code", rel, res.Text())
				}
				if _, err := Decode(res.Payload); err != nil {
					var r *credential.Rejection
					if !errors.As(err, &r) {
						t.Fatalf("%s: untyped error %v", rel, err)
					}
					t.Fatalf("%s: Decode: %v", rel, err)
				}
				mu.Lock()
				hc1++
				mu.Unlock()
			})
		}
	})
	t.Logf("EU DCC corpus PNG files: %d, %d decoded, %d HC1 codes that Decode takes apart, %d Aztec skipped", len(files), decoded, hc1, aztec)
}
