package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/internal/central/issuance"
	"sentinel/internal/cli"
)

// outputs are the ways a code is written.
type outputs struct {
	png      string
	scale    int
	terminal bool
	json     bool
}

func (o *outputs) register(fs *flag.FlagSet) {
	fs.StringVar(&o.png, "png", "", "also write the code as a PNG QR image to `FILE`")
	fs.IntVar(&o.scale, "png-scale", 6, "pixels per QR module in the PNG")
	fs.BoolVar(&o.terminal, "terminal", false, "also draw the QR code in the terminal")
	fs.BoolVar(&o.json, "json", false, "print JSON")
}

// issueOut is what issue prints with --json.
type issueOut struct {
	Code      string            `json:"code"`
	Format    credential.Format `json:"format"`
	KID       string            `json:"kid"`
	Issuer    string            `json:"issuer"`
	Index     *uint32           `json:"index,omitempty"`
	Colour    string            `json:"colour,omitempty"`
	Type      string            `json:"type,omitempty"`
	IssuedAt  time.Time         `json:"issued_at"`
	Expires   time.Time         `json:"expires"`
	Rolling   bool              `json:"rolling,omitempty"`
	Paper     bool              `json:"paper,omitempty"`
	PNG       string            `json:"png,omitempty"`
	QRModules int               `json:"qr_modules,omitempty"`
}

// write prints the code and writes the PNG and terminal QR as asked.
func (o *outputs) write(stdout io.Writer, code string, info issueOut) error {
	var m *gozxing.BitMatrix
	if o.png != "" || o.terminal || o.json {
		var err error
		if m, err = qrMatrix(code); err != nil {
			return err
		}
	}
	if o.png != "" {
		if o.scale < 1 || o.scale > 64 {
			return cli.Usagef("--png-scale %d: want 1 to 64", o.scale)
		}
		if err := writePNG(o.png, m, o.scale); err != nil {
			return fmt.Errorf("write %s: %w", o.png, err)
		}
	}
	if o.json {
		info.Code, info.PNG = code, o.png
		info.QRModules = m.GetWidth() - 2*qrQuietZone
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintln(stdout, code)
	if o.terminal {
		drawTerminal(stdout, m)
	}
	return nil
}

// qrQuietZone is the margin in modules around a QR code (ISO/IEC 18004
// asks for four).
const qrQuietZone = 4

// qrMatrix encodes text as a QR code (error correction M) with its quiet
// zone, one element per module.
func qrMatrix(text string) (*gozxing.BitMatrix, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           qrQuietZone,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("QR code: %w", err)
	}
	return m, nil
}

// writePNG writes m as a black-on-white PNG, scale pixels per module.
func writePNG(path string, m *gozxing.BitMatrix, scale int) error {
	w, h := m.GetWidth(), m.GetHeight()
	img := image.NewGray(image.Rect(0, 0, w*scale, h*scale))
	for y := range h * scale {
		for x := range w * scale {
			c := color.Gray{Y: 0xff}
			if m.Get(x/scale, y/scale) {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// drawTerminal draws m with half-block characters, two module rows per
// line, white on black whatever the terminal's colours.
func drawTerminal(w io.Writer, m *gozxing.BitMatrix) {
	const on, off = "\x1b[40;97m", "\x1b[0m"
	width, height := m.GetWidth(), m.GetHeight()
	var b strings.Builder
	for y := 0; y < height; y += 2 {
		b.WriteString(on)
		for x := range width {
			top := !m.Get(x, y) // light module
			bottom := y+1 >= height || !m.Get(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString(off)
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

func runIssue(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "dcc" {
		return cli.Exit(stderr, "sentinel-central issue dcc", issueDCC(args[1:], stdout, stderr))
	}
	return cli.Exit(stderr, "sentinel-central issue", issueNative(args, stdout, stderr))
}

func issueNative(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("sentinel-central issue", stderr, cli.Help{
		Synopsis: "--key ISSUER.key --issuer ID --index N --colour green|yellow|red [flags]\n" +
			"dcc --cert DSC.pem --key DSC.key --type v|t|r --family NAME --given NAME --dob DATE [flags]",
		Summary: "Signs a native health code (HCN1:) with an issuer's private key (PKCS #8 PEM, " +
			"as 'sentinel-central trust keygen' makes it) and prints it; --png and --terminal " +
			"also render it as a QR code.",
	})
	keyPath := fs.String("key", "", "the issuer's private key `FILE` (PKCS #8 PEM; required)")
	issuer := fs.String("issuer", "", "the issuing region, e.g. ZJ or HB-WH (required)")
	index := fs.String("index", "", "the holder's index at the issuer, 0 to 4294967295 (required)")
	colour := fs.String("colour", "", "green, yellow or red (required)")
	fs.StringVar(colour, "color", "", "same as --colour")
	var since, at cli.Time
	fs.Var(&since, "since", "the `TIME` the colour took effect (RFC 3339; default: the time of issuance)")
	fs.Var(&at, "at", "the `TIME` of issuance (RFC 3339; default: now)")
	ttl := fs.Duration("ttl", healthcode.DefaultTTL, "lifetime of the code (at most 24h with --holder-key, 168h without)")
	name := fs.String("name", "", "masked display name, e.g. \"Zhang *\"")
	holderKey := fs.String("holder-key", "", "the holder's public key `FILE` (PEM): binds the code to the phone, which must then show rolling codes")
	present := fs.String("present", "", "the holder's private key `FILE`: print the rolling presentation at --at instead of the bare credential (for tests and demos)")
	var out outputs
	out.register(fs)
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if *keyPath == "" || *issuer == "" || *index == "" || *colour == "" {
		return cli.Usagef("--key, --issuer, --index and --colour are required (see -h)")
	}
	idx, err := strconv.ParseUint(*index, 10, 32)
	if err != nil {
		return cli.Usagef("--index %q: want a number from 0 to 4294967295", *index)
	}
	col, err := credential.ParseColour(*colour)
	if err != nil {
		return cli.Usagef("--colour: %v", err)
	}
	if err := trust.ValidIssuer(*issuer); err != nil {
		return cli.Usagef("--issuer: %v", err)
	}
	if *name != "" && !strings.HasSuffix(*name, " *") {
		return cli.Usagef("--name %q is not masked: give the family name and \" *\", like \"Zhang *\"", *name)
	}
	signer, err := readIssueSigner(*keyPath)
	if err != nil {
		return err
	}
	n := issuance.NativeCode{Issuer: *issuer, Key: signer,
		Claims: healthcode.Claims{Index: uint32(idx), Colour: col, ColourSince: since.T, DisplayName: *name, TTL: *ttl, IssuedAt: at.T}}
	if *holderKey != "" {
		data, err := os.ReadFile(*holderKey)
		if err != nil {
			return err
		}
		if n.Claims.HolderKey, err = trust.ParsePublicKey(data); err != nil {
			return fmt.Errorf("--holder-key %s: %w", *holderKey, err)
		}
	}
	if *present != "" {
		if *holderKey == "" {
			return cli.Usagef("--present needs --holder-key: only a holder-bound code has a rolling presentation")
		}
		if n.Holder, err = readIssueSigner(*present); err != nil {
			return err
		}
	}
	is, err := issuance.IssueNative(n, time.Now())
	if err != nil {
		return err
	}
	i32 := uint32(idx)
	return out.write(stdout, is.Code, issueOut{
		Format: credential.FormatNative, KID: is.KID.String(), Issuer: *issuer, Index: &i32,
		Colour: col.String(), IssuedAt: is.IssuedAt, Expires: is.Expires,
		Rolling: n.Holder != nil, Paper: n.Claims.HolderKey == nil,
	})
}

func readIssueSigner(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := trust.ParseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (want a PKCS #8 PEM private key, as 'sentinel-central trust keygen' writes)", path, err)
	}
	return k, nil
}

// issueDCC signs an EU DCC with a document signer certificate of our own.
func issueDCC(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("sentinel-central issue dcc", stderr, cli.Help{
		Synopsis: "--cert DSC.pem --key DSC.key --type v|t|r --family NAME --given NAME --dob DATE [flags]",
		Summary: "Signs an EU Digital COVID Certificate (HC1:) with a document signer certificate " +
			"of our own, for tests and demonstrations: terminals accept it only when they " +
			"trust that certificate.",
	})
	certPath := fs.String("cert", "", "the document signer certificate `FILE` (PEM or DER; required)")
	keyPath := fs.String("key", "", "its private key `FILE` (PKCS #8 PEM; required)")
	typ := fs.String("type", "", "v (vaccination), t (test) or r (recovery) (required)")
	family := fs.String("family", "", "the holder's family name (required)")
	given := fs.String("given", "", "the holder's given name")
	dob := fs.String("dob", "", "the holder's date of birth, YYYY-MM-DD (required)")
	country := fs.String("country", "DE", "issuing country (ISO 3166 alpha-2): the iss claim and co")
	ci := fs.String("ci", "", "certificate identifier (default: a random URN:UVCI)")
	var at, date cli.Time
	fs.Var(&at, "at", "the `TIME` of issuance (RFC 3339; default: now)")
	fs.Var(&date, "date", "the `TIME` of vaccination, of the test sample or of the first positive test (RFC 3339; default: 14 days, 2 hours or 30 days before --at)")
	ttl := fs.Duration("ttl", 365*24*time.Hour, "lifetime of the certificate")
	dose := fs.Int("dose", 2, "dose number (v)")
	doses := fs.Int("doses", 2, "doses in the series (v)")
	detected := fs.Bool("detected", false, "the test result is positive (t)")
	var out outputs
	out.register(fs)
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if *certPath == "" || *keyPath == "" || *typ == "" || *family == "" || *dob == "" {
		return cli.Usagef("--cert, --key, --type, --family and --dob are required (see -h)")
	}
	if _, err := time.Parse("2006-01-02", *dob); err != nil {
		return cli.Usagef("--dob %q: want YYYY-MM-DD", *dob)
	}
	cert, err := readIssueCert(*certPath)
	if err != nil {
		return err
	}
	key, err := readIssueSigner(*keyPath)
	if err != nil {
		return err
	}
	switch *typ {
	case issuance.DCCVaccination, issuance.DCCTest, issuance.DCCRecovery:
	default:
		return cli.Usagef("--type %q: want v, t or r", *typ)
	}
	is, err := issuance.IssueDCC(issuance.DCCCode{Cert: cert, Key: key, Type: *typ,
		Family: *family, Given: *given, DOB: *dob, Country: *country, CI: *ci,
		At: at.T, Date: date.T, TTL: *ttl, Dose: *dose, Doses: *doses, Detected: *detected}, time.Now())
	if err != nil {
		return err
	}
	return out.write(stdout, is.Code, issueOut{
		Format: credential.FormatDCC, KID: is.KID.String(), Issuer: *country, Type: *typ,
		IssuedAt: is.IssuedAt, Expires: is.Expires,
	})
}

func readIssueCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(data); b != nil {
		data = b.Bytes
	}
	cert, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, nil
}
