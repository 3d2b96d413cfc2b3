// Package demo sets up a whole Sentinel terminal on a fresh machine for
// the command sentinel-demo: a throwaway data directory with its own
// operator root, signed trust, config and policy bundles, a set of codes of
// every kind, the camera frames and scanner lines that present them, and a
// simulated thermometer.
//
// Nothing is faked past the devices' own interfaces: the codes go through
// device/camera's decoder as rendered QR images and through a real
// pseudo-terminal and device/scanner's serial driver, and the thermometer is
// device/thermo's MLX90614 driver on periph's i2ctest.Playback bus, replaying
// the register reads of each person in turn (one of them with a fever).
//
// StartCentral runs an embedded central server (internal/central/server,
// with a bbolt store in the data directory's centre/) on 127.0.0.1 with the
// demo's root, delegation and HPKE key, and enrols the terminal with it
// through the real enrolment endpoint, so that the terminal's sync
// (internal/terminal) uploads the passages and the centre opens their sealed holders.
//
// # Caveats
//
// Every key is made on the spot and the directory is meant to be thrown
// away: never point a real terminal at it.
package demo

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hpke"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/creack/pty"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/shc"
	"sentinel/crypto/trust"
	"sentinel/crypto/valueset"
	"sentinel/device/thermo"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// Lanes of the demo terminal.
const (
	CameraLane = "cam-1" // codes shown to a camera
	SerialLane = "ser-1" // codes read by a serial scanner
)

// GuardPIN is the demo guard's PIN for overrides on the display.
const GuardPIN = "246810"

// CentreKeyFile holds the centre's HPKE private key (X25519, hex) in the
// demo's data directory, as `sentinel-central trust hpke-keygen` writes
// it. A real terminal never holds it.
const CentreKeyFile = "centre/centre.hpke.key"

// Code is one code of the scenario and what the terminal should decide.
type Code struct {
	Lane    string
	Kind    string // green, yellow, red, expired, forged, revoked, rolling, eu-dcc, shc, fever
	Payload string
	// Parts are the QR texts of a chunked SMART Health Card, read one
	// after the other; Payload is then the card's JWS.
	Parts []string
	// Repeat: the scanner reads the code twice in a row, as when a phone
	// is held in front of it; the terminal sees one passage.
	Repeat bool
	// Want is the verdict the site's default policy gives.
	Want passage.Verdict
	// Celsius is the person's temperature; 0 when the code is refused
	// before the temperature is taken.
	Celsius float64
}

// Demo is a prepared demonstration terminal.
type Demo struct {
	// Dir is the data directory.
	Dir string
	// Config is the terminal's configuration.
	Config *firmwareconfig.Config
	// Codes is the scenario, camera lane first, in the order presented.
	Codes []Code
	// Centre is the centre's HPKE private key, which opens the journal's
	// sealed fields.
	Centre hpke.PrivateKey
	// Previous is where Prepare moved an earlier run's terminal data (its
	// journal, replay memory, enrolment…) inside Dir; empty when Dir held
	// none.
	Previous string

	ptyMaster, ptyTTY *os.File
	thermo            map[string]*Bus
	keys              *keys // for the embedded centre
}

// Options configure Prepare.
type Options struct {
	// Dir is the data directory to fill. When it holds an earlier run's
	// terminal, that terminal's data moves to Dir/runs/TIMESTAMP (see
	// Demo.Previous) and the centre's directory stays: each run is a new
	// terminal, enrolled anew, with a journal of its own.
	Dir string
	// Now is the time the codes and bundles are made for.
	Now time.Time
	// Display and Management are the listeners' addresses; empty means
	// firmware-config's defaults (127.0.0.1:8080 and :9108).
	Display, Management string
}

// keys are the demo's signing keys.
type keys struct {
	root       crypto.Signer
	online     crypto.Signer
	delegation *trust.Delegation
	issuer     ed25519.PrivateKey
	forger     ed25519.PrivateKey
	holder     ed25519.PrivateKey
	dscKey     *ecdsa.PrivateKey
	dsc        *x509.Certificate
	shcKey     *ecdsa.PrivateKey
	pseudonym  []byte
}

// Prepare makes the keys, bundles, codes, frames and devices.
func Prepare(o Options) (_ *Demo, err error) {
	if o.Now.IsZero() {
		return nil, errors.New("demo: Options.Now is required")
	}
	now := o.Now.UTC().Truncate(time.Second)
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d := &Demo{Dir: o.Dir, thermo: map[string]*Bus{}}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.Previous, err = archiveRun(o.Dir, now); err != nil {
		return nil, err
	}
	k, err := makeKeys(now)
	if err != nil {
		return nil, err
	}
	d.keys = k
	if err := d.writeTrust(k, now); err != nil {
		return nil, err
	}
	if err := d.makeCodes(k, now); err != nil {
		return nil, err
	}
	if err := d.writeFrames(); err != nil {
		return nil, err
	}
	if d.ptyMaster, d.ptyTTY, err = pty.Open(); err != nil {
		return nil, fmt.Errorf("demo: the serial lane needs a pseudo-terminal (/dev/ptmx): %w", err)
	}
	d.makeThermometers()
	d.Config = d.config()
	if err := d.Config.Validate(); err != nil {
		return nil, fmt.Errorf("demo: configuration: %w", err)
	}
	// Port 0 (a free port, for tests) is set after the check, which wants
	// the fixed ports a terminal uses.
	if o.Display != "" {
		d.Config.Listen.Display = o.Display
	}
	if o.Management != "" {
		d.Config.Listen.Management = o.Management
	}
	return d, nil
}

func makeKeys(now time.Time) (*keys, error) {
	k := &keys{}
	var err error
	if k.root, err = trust.GenerateRoot(nil, trust.KeyEd25519); err != nil {
		return nil, err
	}
	if k.online, err = trust.GenerateKey(nil, trust.KeyEd25519); err != nil {
		return nil, err
	}
	if k.delegation, err = trust.Delegate(k.root, k.online.Public(), trust.Kinds(), now.Add(-time.Hour), now.Add(30*24*time.Hour)); err != nil {
		return nil, err
	}
	for _, p := range []*ed25519.PrivateKey{&k.issuer, &k.forger, &k.holder} {
		if _, *p, err = ed25519.GenerateKey(nil); err != nil {
			return nil, err
		}
	}
	if k.dscKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if k.shcKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.Unix()),
		Subject:      pkix.Name{Country: []string{"DE"}, CommonName: "Sentinel demo document signer"},
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.dscKey.PublicKey, k.dscKey)
	if err != nil {
		return nil, fmt.Errorf("demo: document signer certificate: %w", err)
	}
	if k.dsc, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	k.pseudonym = make([]byte, trust.PseudonymKeySize)
	rand.Read(k.pseudonym)
	return k, nil
}

// writeTrust pins the root and writes the signed trust, config and policy
// bundles where sentineld reads them.
func (d *Demo) writeTrust(k *keys, now time.Time) error {
	kem := hpke.DHKEM(ecdh.X25519())
	centre, err := kem.GenerateKey()
	if err != nil {
		return err
	}
	d.Centre = centre
	spki, err := x509.MarshalPKIXPublicKey(k.issuer.Public())
	if err != nil {
		return err
	}
	content := &trust.TrustContent{
		Native:       []trust.NativeEntry{{Issuer: "ZJ", SPKI: spki}},
		DSCs:         []trust.DSCEntry{{Cert: k.dsc.Raw}},
		SHC:          []trust.SHCEntry{{Issuer: shcIssuer, JWKS: jwks(&k.shcKey.PublicKey)}},
		PseudonymKey: k.pseudonym,
		HPKE:         &trust.HPKEPublicKey{KEM: kem.ID(), Public: centre.PublicKey().Bytes()},
		ValueSets:    demoValueSets(),
	}
	hdr := func(kind trust.Kind, payload []byte) trust.Bundle {
		return trust.Bundle{Kind: kind, Version: 1, IssuedAt: now.Add(-time.Minute), FreshUntil: now.Add(24 * time.Hour), GraceUntil: now.Add(72 * time.Hour), Payload: payload}
	}
	trustBundle, err := trust.BuildTrustBundle(k.online, k.delegation, hdr(trust.KindTrust, nil), content)
	if err != nil {
		return fmt.Errorf("demo: trust bundle: %w", err)
	}
	pin, err := gate.HashPIN(GuardPIN, 0)
	if err != nil {
		return err
	}
	site := gate.DefaultSiteSettings(gate.Supermarket)
	site.Guards = []gate.Guard{{ID: "demo-guard", PINHash: pin}}
	sitePayload, err := gate.MarshalSiteSettings(site)
	if err != nil {
		return err
	}
	configBundle, err := trust.SealBundle(k.online, k.delegation, hdr(trust.KindConfig, sitePayload))
	if err != nil {
		return fmt.Errorf("demo: config bundle: %w", err)
	}
	pb, err := policy.DefaultBundle(siteconfig.Supermarket)
	if err != nil {
		return err
	}
	pb.Version = "demo-1"
	policyPayload, err := pb.Marshal()
	if err != nil {
		return err
	}
	policyBundle, err := trust.SealBundle(k.online, k.delegation, hdr(trust.KindPolicy, policyPayload))
	if err != nil {
		return fmt.Errorf("demo: policy bundle: %w", err)
	}
	rootPEM, err := trust.MarshalPublicKey(k.root.Public())
	if err != nil {
		return err
	}
	centreKey, err := centre.Bytes()
	if err != nil {
		return err
	}
	files := map[string][]byte{
		// The demo is its own centre: its journal key lets a supervisor
		// of the demo open the sealed holder and temperature.
		CentreKeyFile:           []byte(hex.EncodeToString(centreKey) + "\n"),
		"trust/root.pub":        rootPEM,
		"bundles/trust.bundle":  trustBundle,
		"bundles/config.bundle": configBundle,
		"bundles/policy.bundle": policyBundle,
	}
	status, err := statusBundle(k, now, hdr)
	if err != nil {
		return err
	}
	if status != nil {
		files["bundles/status-base.bundle"] = status
	}
	for name, data := range files {
		p := filepath.Join(d.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Holder indexes of the scenario's native codes.
const (
	idxGreen   = 1001
	idxYellow  = 1002
	idxRed     = 1003
	idxExpired = 1004
	idxForged  = 1005
	idxRevoked = 1006
	idxRolling = 1007
	idxFever   = 1008
)

// makeCodes issues the scenario's codes.
func (d *Demo) makeCodes(k *keys, now time.Time) error {
	issuedAt := now.Add(-10 * time.Minute)
	native := func(key ed25519.PrivateKey, idx uint32, c credential.Colour, name string, at time.Time, holder crypto.PublicKey) (string, error) {
		is, err := healthcode.NewIssuer("ZJ", key, &healthcode.IssuerOptions{Clock: func() time.Time { return at }})
		if err != nil {
			return "", err
		}
		return is.Issue(healthcode.Claims{Index: idx, Colour: c, DisplayName: name, HolderKey: holder})
	}
	type spec struct {
		lane, kind string
		key        ed25519.PrivateKey
		idx        uint32
		colour     credential.Colour
		name       string
		at         time.Time
		want       passage.Verdict
		celsius    float64
	}
	specs := []spec{
		{CameraLane, "green", k.issuer, idxGreen, credential.ColourGreen, "Zhang *", issuedAt, passage.Admit, 36.6},
		{CameraLane, "yellow", k.issuer, idxYellow, credential.ColourYellow, "Li *", issuedAt, passage.Deny, 36.5},
		{CameraLane, "red", k.issuer, idxRed, credential.ColourRed, "Wang *", issuedAt, passage.Deny, 36.7},
		{CameraLane, "expired", k.issuer, idxExpired, credential.ColourGreen, "Zhao *", now.Add(-30 * time.Hour), passage.Deny, 0},
		{CameraLane, "forged", k.forger, idxForged, credential.ColourGreen, "Chen *", issuedAt, passage.Deny, 0},
		{SerialLane, "revoked", k.issuer, idxRevoked, credential.ColourGreen, "Liu *", issuedAt, revokedWant, 36.4},
		{SerialLane, "fever", k.issuer, idxFever, credential.ColourGreen, "Huang *", issuedAt, passage.Refer, 37.8},
	}
	for _, s := range specs {
		code, err := native(s.key, s.idx, s.colour, s.name, s.at, nil)
		if err != nil {
			return fmt.Errorf("demo: issue %s: %w", s.kind, err)
		}
		d.Codes = append(d.Codes, Code{Lane: s.lane, Kind: s.kind, Payload: code, Want: s.want, Celsius: s.celsius})
	}
	// A phone code bound to the holder's key, shown as a rolling code.
	cred, err := native(k.issuer, idxRolling, credential.ColourGreen, "Zhou *", issuedAt, k.holder.Public())
	if err != nil {
		return fmt.Errorf("demo: issue rolling: %w", err)
	}
	rolling, err := healthcode.Present(cred, k.holder, now)
	if err != nil {
		return fmt.Errorf("demo: present rolling: %w", err)
	}
	d.Codes = append(d.Codes, Code{Lane: SerialLane, Kind: "rolling", Payload: rolling, Want: passage.Admit, Celsius: 36.5, Repeat: true})

	// A SMART Health Card in the deprecated chunked form: three QR codes
	// that the gate's scanner stage assembles.
	jws, err := shc.Sign(k.shcKey, "", shcIssuer, shcCard(now), now.Add(-24*time.Hour), time.Time{})
	if err != nil {
		return fmt.Errorf("demo: sign SMART Health Card: %w", err)
	}
	d.Codes = append(d.Codes, Code{Lane: SerialLane, Kind: "shc", Payload: jws, Parts: shc.EncodeChunks(jws, 3), Want: passage.Admit, Celsius: 36.6})

	// An EU DCC signed by the demo's own document signer.
	hc := dcc.HCert{
		Ver: "1.3.0",
		Nam: dcc.Name{FN: "Mustermann", FNT: "MUSTERMANN", GN: "Erika", GNT: "ERIKA"},
		DOB: "1964-08-12",
		V: []dcc.Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: 2, SD: 2, DT: now.Add(-60 * 24 * time.Hour).Format("2006-01-02"), CO: "DE",
			IS: "Sentinel demo issuer", CI: "URN:UVCI:01:DE:SENTINELDEMO0001"}},
	}
	hc1, err := dcc.Sign(k.dsc, k.dscKey, hc, "DE", issuedAt, now.Add(300*24*time.Hour))
	if err != nil {
		return fmt.Errorf("demo: sign EU DCC: %w", err)
	}
	// Camera codes first, in order, then the serial lane's.
	dccCode := Code{Lane: CameraLane, Kind: "eu-dcc", Payload: hc1, Want: passage.Admit, Celsius: 36.4}
	var cam, ser []Code
	for _, c := range append(d.Codes, dccCode) {
		if c.Lane == CameraLane {
			cam = append(cam, c)
		} else {
			ser = append(ser, c)
		}
	}
	d.Codes = append(cam, ser...)
	return nil
}

// writeFrames renders the camera lane's codes as QR images.
func (d *Demo) writeFrames() error {
	dir := filepath.Join(d.Dir, "frames")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	n := 0
	for _, c := range d.Codes {
		if c.Lane != CameraLane {
			continue
		}
		n++
		img, err := RenderQR(c.Payload, 4)
		if err != nil {
			return fmt.Errorf("demo: render %s: %w", c.Kind, err)
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%02d-%s.png", n, c.Kind)))
		if err != nil {
			return err
		}
		if err := png.Encode(f, img); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// RenderQR draws text as a QR code (error correction M, a quiet zone of
// four modules), scale pixels per module, as a camera would see a screen.
func RenderQR(text string, scale int) (*image.Gray, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           4,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, err
	}
	w, h := m.GetWidth(), m.GetHeight()
	img := image.NewGray(image.Rect(0, 0, w*scale, h*scale))
	for y := range h * scale {
		for x := range w * scale {
			c := color.Gray{Y: 0xff}
			if m.Get(x/scale, y/scale) {
				c.Y = 0x10
			}
			img.SetGray(x, y, c)
		}
	}
	return img, nil
}

// config is the demo terminal's configuration: a camera lane replaying the
// frames and a serial lane on the pseudo-terminal, each with a thermometer
// and no GPIO outputs.
func (d *Demo) config() *firmwareconfig.Config {
	cfg := firmwareconfig.DefaultConfig()
	cfg.DataDir = d.Dir
	cfg.Terminal = firmwareconfig.Terminal{ID: "DEMO-T1", Name: "Sentinel demo", SiteID: "DEMO-SITE"}
	cfg.Central = firmwareconfig.Central{URL: "http://127.0.0.1:9"}
	th := func(bus string) *firmwareconfig.Thermometer {
		return &firmwareconfig.Thermometer{Model: firmwareconfig.MLX90614, Bus: bus, Address: thermo.DefaultAddr}
	}
	cfg.Lanes = []firmwareconfig.Lane{
		{Name: CameraLane, Camera: &firmwareconfig.Camera{Source: firmwareconfig.CameraReplay, Dir: filepath.Join(d.Dir, "frames"), FPS: firmwareconfig.DefaultCameraFPS}, Thermometer: th("1")},
		{Name: SerialLane, Scanners: []firmwareconfig.Scanner{{
			Type: firmwareconfig.ScannerSerial, Port: d.ptyTTY.Name(), Baud: 9600,
			Framing: firmwareconfig.FramingCR, IdleGap: firmwareconfig.DefaultIdleGap, DedupWindow: firmwareconfig.DefaultDedupWindow,
		}}, Thermometer: th("2")},
	}
	return cfg
}

// Feed types the serial lane's codes into the pseudo-terminal, as the
// scanner would send them, once ready says the scanner has opened its port.
func (d *Demo) Feed(ctx context.Context, ready func() bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for !ready() {
		if time.Now().After(deadline) {
			return errors.New("demo: the serial scanner did not open the pseudo-terminal within 10 s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	for _, c := range d.Codes {
		if c.Lane != SerialLane {
			continue
		}
		lines := c.Parts
		if lines == nil {
			lines = []string{c.Payload}
		}
		if c.Repeat {
			lines = append(lines, c.Payload)
		}
		for _, l := range lines {
			if _, err := io.WriteString(d.ptyMaster, l+"\r"); err != nil {
				return fmt.Errorf("demo: type into the pseudo-terminal: %w", err)
			}
		}
	}
	return nil
}

// Close releases the pseudo-terminal.
func (d *Demo) Close() error {
	var errs []error
	for _, f := range []*os.File{d.ptyMaster, d.ptyTTY} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// RunsDir holds earlier runs' terminal data inside the demo's directory.
const RunsDir = "runs"

// archiveRun moves an earlier run's terminal data (everything in dir but
// the centre's directory and earlier archives) to dir/runs/TIMESTAMP and
// returns that path; "" when dir holds no earlier run. Nothing is deleted:
// the earlier journal stays readable with sentinelctl journal.
func archiveRun(dir string, now time.Time) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	var move []string
	for _, e := range entries {
		if n := e.Name(); n != CentreDir && n != RunsDir {
			move = append(move, n)
		}
	}
	if len(move) == 0 {
		return "", nil
	}
	to := filepath.Join(dir, RunsDir, now.UTC().Format("20060102T150405Z"))
	for i := 2; ; i++ {
		if _, err := os.Stat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		to = filepath.Join(dir, RunsDir, now.UTC().Format("20060102T150405Z")+"-"+strconv.Itoa(i))
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return "", fmt.Errorf("demo: keep the earlier run: %w", err)
	}
	for _, n := range move {
		if err := os.Rename(filepath.Join(dir, n), filepath.Join(to, n)); err != nil {
			return "", fmt.Errorf("demo: keep the earlier run's %s: %w", n, err)
		}
	}
	return to, nil
}

// demoValueSets are EU value sets holding the codes of the demo's EU DCC
// (and a few more), so that the demo's terminal checks codes as a real one
// does. A deployment publishes the EU's full lists (docs/bundles.md).
func demoValueSets() []trust.ValueSetEntry {
	set := func(id, system string, codes ...[2]string) trust.ValueSetEntry {
		values := map[string]any{}
		for _, c := range codes {
			values[c[0]] = map[string]any{"display": c[1], "lang": "en", "active": true, "system": system, "version": ""}
		}
		b, err := json.Marshal(map[string]any{"valueSetId": id, "valueSetDate": "2026-01-01", "valueSetValues": values})
		if err != nil {
			panic(err) // maps of strings always encode
		}
		return trust.ValueSetEntry{JSON: b}
	}
	return []trust.ValueSetEntry{
		set(valueset.Country, "urn:iso:std:iso:3166", [2]string{"AT", "Austria"}, [2]string{"CN", "China"}, [2]string{"DE", "Germany"}, [2]string{"FR", "France"}),
		set(valueset.Disease, "http://snomed.info/sct", [2]string{"840539006", "COVID-19"}),
		set(valueset.VaccineType, "http://snomed.info/sct", [2]string{"1119349007", "SARS-CoV2 mRNA vaccine"}),
		set(valueset.VaccineProd, "https://ec.europa.eu/health/documents/community-register/html/", [2]string{"EU/1/20/1528", "Comirnaty"}),
		set(valueset.VaccineHolder, "https://spor.ema.europa.eu/v1/organisations", [2]string{"ORG-100030215", "Biontech Manufacturing GmbH"}),
		set(valueset.TestType, "http://loinc.org", [2]string{"LP6464-4", "Nucleic acid amplification with probe detection"}, [2]string{"LP217198-3", "Rapid immunoassay"}),
		set(valueset.TestResult, "http://snomed.info/sct", [2]string{"260415000", "Not detected"}, [2]string{"260373001", "Detected"}),
	}
}
