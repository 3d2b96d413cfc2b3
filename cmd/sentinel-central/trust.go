package main

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/atomicfile"
	"sentinel/internal/central/trustbuild"
	"sentinel/internal/cli"
)

// trustCommands are the subcommands of "sentinel-central trust".
var trustCommands = map[string]cli.Command{
	"root-keygen":      {Summary: "make the operator root key pair (keep the private key offline)", Synopsis: "--out DIR [flags]", Run: runTrustRootKeygen},
	"signer-keygen":    {Summary: "make an online signing key pair for the root to delegate", Synopsis: "--out DIR [--name NAME] [flags]", Run: runTrustSignerKeygen},
	"delegate":         {Summary: "let an online signing key sign some kinds of bundle for a while", Synopsis: "--root ROOT.key --pub SIGNER.pub --kinds LIST --out FILE [flags]", Run: runTrustDelegate},
	"keygen":           {Summary: "make a native issuer key pair", Synopsis: "--issuer ID --out DIR [flags]", Run: runTrustKeygen},
	"hpke-keygen":      {Summary: "make the centre's HPKE key pair that journals are sealed to", Synopsis: "--out DIR [flags]", Run: runTrustHPKEKeygen},
	"pseudonym-keygen": {Summary: "make the deployment's pseudonym key for trust build --pseudonym-key", Synopsis: "--out FILE [flags]", Run: runTrustPseudonymKeygen},
	"build":            {Summary: "build and sign a trust bundle from key and certificate files", Synopsis: "--version N --root ROOT.key [--native FILE]... [flags]\n--version N --key SIGNER.key --delegation SIGNER.delegation --root-pub ROOT.pub [--native FILE]... [flags]", Run: runTrustBuild},
	"inspect":          {Summary: "verify a bundle against the root and say what it holds", Synopsis: "--root ROOT.pub [--at TIME] [--json] FILE", Run: runTrustInspect},
}

func runTrust(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central trust", trustCommands, args, stdin, stdout, stderr)
}

// parseDays reads a duration, with "d" for days as in "90d".
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 16)
		if err != nil || days == 0 {
			return 0, fmt.Errorf("duration %q: want a whole number of days, as in 90d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("duration %q: want e.g. 90d, 24h or 30m", s)
	}
	return d, nil
}

func parseKeyType(s string) (trust.KeyType, error) {
	switch strings.ToLower(s) {
	case "ed25519":
		return trust.KeyEd25519, nil
	case "p256", "p-256", "es256":
		return trust.KeyP256, nil
	}
	return 0, cli.Usagef("--type %q: want ed25519 or p256", s)
}

// writeNew writes a file that must not exist yet: keys are never
// overwritten by mistake.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists already: move it away first, keys are never overwritten", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// keyPairOut is what the keygen commands print.
type keyPairOut struct {
	KID     string `json:"kid"`
	Type    string `json:"type"`
	Issuer  string `json:"issuer,omitempty"`
	Private string `json:"private_key"`
	Public  string `json:"public_key"`
}

func keyTypeName(t trust.KeyType) string {
	if t == trust.KeyP256 {
		return "p256"
	}
	return "ed25519"
}

// writeKeyPair writes DIR/NAME.key (0600) and DIR/NAME.pub.
func writeKeyPair(dir, name string, k crypto.Signer, pubPEM []byte) (keyPairOut, error) {
	var out keyPairOut
	priv, err := trust.MarshalSigningKey(k)
	if err != nil {
		return out, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return out, err
	}
	out.Private = filepath.Join(dir, name+".key")
	out.Public = filepath.Join(dir, name+".pub")
	if _, err := os.Stat(out.Public); err == nil {
		return out, fmt.Errorf("%s exists already: move it away first, keys are never overwritten", out.Public)
	}
	if err := writeNew(out.Private, priv, 0o600); err != nil {
		return out, err
	}
	if err := writeNew(out.Public, pubPEM, 0o644); err != nil {
		os.Remove(out.Private)
		return out, err
	}
	kid, err := trust.KeyIDOfPublic(k.Public())
	if err != nil {
		return out, err
	}
	out.KID = kid.String()
	return out, nil
}

func printKeyPair(w io.Writer, asJSON bool, what string, out keyPairOut) error {
	if asJSON {
		return printJSON(w, out)
	}
	fmt.Fprintf(w, "%s %s (%s)\n", what, out.KID, out.Type)
	fmt.Fprintf(w, "private key: %s (keep it secret)\n", out.Private)
	fmt.Fprintf(w, "public key:  %s\n", out.Public)
	return nil
}

func runTrustRootKeygen(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central trust root-keygen", stderr, cli.CommandHelp(ctx))
	out := fs.String("out", "", "directory for root.key (0600) and root.pub (required)")
	typ := fs.String("type", "ed25519", "key type: ed25519 or p256")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central trust root-keygen", func() error {
		if _, err := cli.Parse(fs, args); err != nil {
			return err
		}
		if *out == "" {
			return cli.Usagef("--out DIR is required")
		}
		kt, err := parseKeyType(*typ)
		if err != nil {
			return err
		}
		k, err := trust.GenerateRoot(nil, kt)
		if err != nil {
			return err
		}
		pub, err := trust.MarshalPublicKey(k.Public())
		if err != nil {
			return err
		}
		res, err := writeKeyPair(*out, "root", k, pub)
		if err != nil {
			return err
		}
		res.Type = keyTypeName(kt)
		if err := printKeyPair(stdout, *asJSON, "operator root", res); err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintln(stdout, "Move root.key to offline storage; terminals pin root.pub.")
		}
		return nil
	}())
}

func runTrustSignerKeygen(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central trust signer-keygen", stderr, cli.CommandHelp(ctx))
	out := fs.String("out", "", "directory for NAME.key (0600) and NAME.pub (required)")
	name := fs.String("name", "signer", "file name of the key pair")
	typ := fs.String("type", "ed25519", "key type: ed25519 or p256")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central trust signer-keygen", func() error {
		if _, err := cli.Parse(fs, args); err != nil {
			return err
		}
		if *out == "" {
			return cli.Usagef("--out DIR is required")
		}
		if *name == "" || strings.ContainsAny(*name, `/\`) {
			return cli.Usagef("--name %q: want a plain file name", *name)
		}
		kt, err := parseKeyType(*typ)
		if err != nil {
			return err
		}
		k, err := trust.GenerateKey(nil, kt)
		if err != nil {
			return err
		}
		pub, err := trust.MarshalPublicKey(k.Public())
		if err != nil {
			return err
		}
		res, err := writeKeyPair(*out, *name, k, pub)
		if err != nil {
			return err
		}
		res.Type = keyTypeName(kt)
		return printKeyPair(stdout, *asJSON, "signing key", res)
	}())
}

func runTrustKeygen(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central trust keygen", stderr, cli.CommandHelp(ctx))
	issuer := fs.String("issuer", "", "the region the key issues for, e.g. ZJ or HB-WH (required)")
	out := fs.String("out", "", "directory for ISSUER.key (0600) and ISSUER.pub (required)")
	typ := fs.String("type", "ed25519", "key type: ed25519 or p256")
	var from, to cli.Time
	fs.Var(&from, "from", "the key is valid from this `TIME` (RFC 3339; default open)")
	fs.Var(&to, "to", "the key is valid until this `TIME` (RFC 3339; default open)")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central trust keygen", func() error {
		if _, err := cli.Parse(fs, args); err != nil {
			return err
		}
		if *issuer == "" || *out == "" {
			return cli.Usagef("--issuer ID and --out DIR are required")
		}
		if err := trust.ValidIssuer(*issuer); err != nil {
			return cli.Usagef("--issuer: %v", err)
		}
		kt, err := parseKeyType(*typ)
		if err != nil {
			return err
		}
		v := trust.Validity{NotBefore: from.T, NotAfter: to.T}
		if !v.NotBefore.IsZero() && !v.NotAfter.IsZero() && !v.NotAfter.After(v.NotBefore) {
			return cli.Usagef("--to must be after --from")
		}
		k, err := trust.GenerateKey(nil, kt)
		if err != nil {
			return err
		}
		pub, err := trust.MarshalNativeKey(*issuer, k.Public(), v)
		if err != nil {
			return err
		}
		res, err := writeKeyPair(*out, *issuer, k, pub)
		if err != nil {
			return err
		}
		res.Type, res.Issuer = keyTypeName(kt), *issuer
		return printKeyPair(stdout, *asJSON, "native issuer key for "+*issuer, res)
	}())
}

type hpkeOut struct {
	KEM     uint16 `json:"kem"`
	Private string `json:"private_key"`
	Public  string `json:"public_key"`
}

func runTrustHPKEKeygen(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central trust hpke-keygen", stderr, cli.CommandHelp(ctx))
	out := fs.String("out", "", "directory for centre.hpke.key (0600) and centre.hpke.pub, both hex (required)")
	kemName := fs.String("kem", "x25519", "KEM: x25519 (DHKEM X25519, 0x20) or mlkem768-x25519 (hybrid, 0x647a)")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central trust hpke-keygen", func() error {
		if _, err := cli.Parse(fs, args); err != nil {
			return err
		}
		if *out == "" {
			return cli.Usagef("--out DIR is required")
		}
		var kem hpke.KEM
		switch *kemName {
		case "x25519":
			kem = hpke.DHKEM(ecdh.X25519())
		case "mlkem768-x25519":
			kem = hpke.MLKEM768X25519()
		default:
			return cli.Usagef("--kem %q: want x25519 or mlkem768-x25519", *kemName)
		}
		priv, err := kem.GenerateKey()
		if err != nil {
			return err
		}
		privBytes, err := priv.Bytes()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(*out, 0o700); err != nil {
			return err
		}
		res := hpkeOut{KEM: kem.ID(), Private: filepath.Join(*out, "centre.hpke.key"), Public: filepath.Join(*out, "centre.hpke.pub")}
		if err := writeNew(res.Private, []byte(hex.EncodeToString(privBytes)+"\n"), 0o600); err != nil {
			return err
		}
		if err := writeNew(res.Public, []byte(hex.EncodeToString(priv.PublicKey().Bytes())+"\n"), 0o644); err != nil {
			os.Remove(res.Private)
			return err
		}
		if *asJSON {
			return printJSON(stdout, res)
		}
		fmt.Fprintf(stdout, "centre HPKE key, KEM %#04x\nprivate key: %s (keep it at the centre)\npublic key:  %s (give it to trust build --hpke-pub with --hpke-kem %#04x)\n",
			res.KEM, res.Private, res.Public, res.KEM)
		return nil
	}())
}

// pseudonymOut is what pseudonym-keygen --json prints.
type pseudonymOut struct {
	File string `json:"file"`
}

func runTrustPseudonymKeygen(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central trust pseudonym-keygen", stderr, cli.CommandHelp(ctx))
	out := fs.String("out", "", "the key `FILE` to write: 64 hex digits, mode 0600 (required; never overwritten)")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central trust pseudonym-keygen", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if *out == "" || len(pos) != 0 {
			return cli.Usagef("usage: sentinel-central trust pseudonym-keygen --out FILE")
		}
		key := make([]byte, trust.PseudonymKeySize)
		rand.Read(key)
		if dir := filepath.Dir(*out); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
		}
		if err := writeNew(*out, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, pseudonymOut{File: *out})
		}
		fmt.Fprintf(stdout, "pseudonym key: %s (keep it at the centre and in the backup; give it to trust build --pseudonym-key)\n", *out)
		return nil
	}())
}

func readPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := trust.ParseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func readPublicKey(path string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := trust.ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func parseKinds(s string) ([]trust.Kind, error) {
	var kinds []trust.Kind
	for _, n := range strings.Split(s, ",") {
		k := trust.Kind(strings.TrimSpace(n))
		if !k.Valid() {
			names := make([]string, 0, len(trust.DelegableKinds()))
			for _, k := range trust.DelegableKinds() {
				names = append(names, string(k))
			}
			return nil, cli.Usagef("--kinds: unknown kind %q (known: %s)", k, strings.Join(names, ", "))
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

type delegationOut struct {
	File      string       `json:"file,omitempty"`
	KID       string       `json:"kid"`
	Kinds     []trust.Kind `json:"kinds"`
	ValidFrom time.Time    `json:"valid_from"`
	ValidTo   time.Time    `json:"valid_to"`
}

func runTrustDelegate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central trust delegate", stderr, cli.CommandHelp(ctx))
	rootPath := fs.String("root", "", "the operator root's private key file (required)")
	pubPath := fs.String("pub", "", "the online signing key's public key file (required)")
	kindsFlag := fs.String("kinds", "", "comma-separated kinds it may sign: trust, status-base, status-delta, policy, config, colour-rules (rule sets of the code engine; required)")
	valid := fs.String("valid", "90d", "how long the delegation lasts, e.g. 90d or 720h")
	var from cli.Time
	fs.Var(&from, "from", "the `TIME` the delegation starts (RFC 3339; default now)")
	out := fs.String("out", "", "the delegation file to write (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central trust delegate", func() error {
		if _, err := cli.Parse(fs, args); err != nil {
			return err
		}
		if *rootPath == "" || *pubPath == "" || *kindsFlag == "" || *out == "" {
			return cli.Usagef("--root KEY, --pub KEY, --kinds LIST and --out FILE are required")
		}
		kinds, err := parseKinds(*kindsFlag)
		if err != nil {
			return err
		}
		dur, err := parseDays(*valid)
		if err != nil {
			return cli.Usagef("--valid: %v", err)
		}
		root, err := readPrivateKey(*rootPath)
		if err != nil {
			return err
		}
		pub, err := readPublicKey(*pubPath)
		if err != nil {
			return err
		}
		start := from.Or(time.Now())
		d, err := trust.Delegate(root, pub, kinds, start, start.Add(dur))
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(*out, d.Raw, 0o644); err != nil {
			return err
		}
		res := delegationOut{File: *out, KID: d.KID.String(), Kinds: d.Kinds, ValidFrom: d.Validity.NotBefore, ValidTo: d.Validity.NotAfter}
		if *asJSON {
			return printJSON(stdout, res)
		}
		fmt.Fprintf(stdout, "delegated key %s may sign %s from %s to %s\nwrote %s\n", res.KID, joinKinds(d.Kinds),
			res.ValidFrom.Format(time.RFC3339), res.ValidTo.Format(time.RFC3339), *out)
		return nil
	}())
}

func joinKinds(kinds []trust.Kind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

type buildOut struct {
	File       string            `json:"file"`
	Kind       trust.Kind        `json:"kind"`
	Version    uint64            `json:"version"`
	IssuedAt   time.Time         `json:"issued_at"`
	FreshUntil time.Time         `json:"fresh_until"`
	GraceUntil time.Time         `json:"grace_until"`
	Signer     string            `json:"signer"`
	Delegated  bool              `json:"delegated"`
	Counts     trust.TrustCounts `json:"counts"`
}

func runTrustBuild(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central trust build", stderr, cli.CommandHelp(ctx))
	rootPath := fs.String("root", "", "sign with the operator root's private key itself")
	delPath := fs.String("delegation", "", "sign with a delegated key: its delegation file (with --key)")
	keyPath := fs.String("key", "", "the delegated signing key's private key file (with --delegation)")
	rootPub := fs.String("root-pub", "", "the root's public key, to check the delegation and the result (optional)")
	var native, revokeNative, dsc, revokeDSC, jwks, crls, revokeDel cli.Strings
	fs.Var(&native, "native", "a native issuer public key file (repeatable)")
	fs.Var(&revokeNative, "revoke-native", "a native issuer public key file to list as revoked (repeatable)")
	fs.Var(&dsc, "dsc", "an EU DCC document signer certificate file, PEM or DER (repeatable)")
	fs.Var(&revokeDSC, "revoke-dsc", "a document signer certificate to list as revoked (repeatable)")
	fs.Var(&jwks, "jwks", "ISS=FILE: a SMART Health Card issuer's key set; crl/*.json beside FILE is read too (repeatable)")
	fs.Var(&crls, "crl", "ISS=FILE: a revocation list for issuer ISS (repeatable)")
	fs.Var(&revokeDel, "revoke-delegation", "a delegation file or key id (hex) to revoke (repeatable)")
	pseudo := fs.String("pseudonym-key", "", "the deployment's pseudonym key: 32 raw bytes or 64 hex digits")
	hpkePath := fs.String("hpke-pub", "", "the centre's HPKE public key (raw bytes or hex)")
	hpkeKEM := fs.Uint("hpke-kem", 0x20, "the HPKE KEM id of --hpke-pub (0x20: DHKEM X25519)")
	valueSetsDir := fs.String("valuesets", "", "a `DIR` of the EU DCC value-set files (the EU's valueSetValues JSON) for terminals to check EU certificates' codes against")
	version := fs.Uint64("version", 0, "the bundle's version, above every earlier one (required)")
	var issued cli.Time
	fs.Var(&issued, "issued", "the `TIME` of issue (RFC 3339; default now)")
	fresh := fs.String("fresh", "24h", "how long the bundle stays fresh after issue")
	grace := fs.String("grace", "72h", "how long after issue it is still usable in grace")
	out := fs.String("out", "-", "the bundle `FILE` to write; - writes it to standard output (then the summary goes to standard error)")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central trust build", func() error {
		if _, err := cli.Parse(fs, args); err != nil {
			return err
		}
		if *version == 0 {
			return cli.Usagef("--version N (1 or more) is required")
		}
		toStdout := *out == "-" || *out == ""
		if toStdout && isTerminal(stdout) {
			return cli.Usagef("the bundle is binary: name a file with --out FILE, or redirect standard output (> FILE)")
		}
		if (*rootPath == "") == (*delPath == "") || (*delPath == "") != (*keyPath == "") {
			return cli.Usagef("sign with either --root KEY, or --delegation FILE and --key KEY")
		}
		freshD, graceD, err := parseFreshGrace(*fresh, *grace)
		if err != nil {
			return err
		}
		if *hpkeKEM > 0xffff {
			return cli.Usagef("--hpke-kem %d is not a 16-bit KEM id", *hpkeKEM)
		}

		var pin crypto.PublicKey
		if *rootPub != "" {
			if pin, err = readPublicKey(*rootPub); err != nil {
				return err
			}
		}
		var signer crypto.Signer
		var d *trust.Delegation
		if *rootPath != "" {
			if signer, err = readPrivateKey(*rootPath); err != nil {
				return err
			}
			if pin == nil {
				pin = signer.Public()
			}
		} else if signer, d, err = loadSigningKey("--key", *keyPath, "--delegation", *delPath, pin); err != nil {
			return err
		}

		src := trustbuild.Sources{
			Native: native, RevokedNative: revokeNative, DSC: dsc, RevokedDSC: revokeDSC,
			RevokedDelegations: revokeDel, PseudonymKey: *pseudo, HPKEPublic: *hpkePath, HPKEKEM: uint16(*hpkeKEM),
			ValueSets: *valueSetsDir,
		}
		shc := map[string]int{}
		for _, arg := range jwks {
			iss, p, ok := strings.Cut(arg, "=")
			if !ok || iss == "" || p == "" {
				return cli.Usagef("--jwks %q: want ISS=FILE, e.g. --jwks https://issuer.example/shc=jwks.json", arg)
			}
			shc[iss] = len(src.SHC)
			src.SHC = append(src.SHC, trustbuild.SHCIssuer{Issuer: iss, JWKS: p})
		}
		for _, arg := range crls {
			iss, p, ok := strings.Cut(arg, "=")
			i, known := shc[iss]
			if !ok || !known {
				return cli.Usagef("--crl %q: want ISS=FILE for an issuer given with --jwks", arg)
			}
			src.SHC[i].CRLs = append(src.SHC[i].CRLs, p)
		}
		c, err := src.Content(pin)
		if err != nil {
			return err
		}
		at := issued.Or(time.Now())
		data, info, err := trustbuild.Build(trustbuild.Signing{Signer: signer, Delegation: d, Root: pin},
			trustbuild.Header(*version, at, freshD, graceD), c)
		if err != nil {
			return err
		}
		report := stdout
		if toStdout {
			if _, err := stdout.Write(data); err != nil {
				return fmt.Errorf("write the bundle to standard output: %w", err)
			}
			report = stderr
		} else if err := atomicfile.WriteFile(*out, data, 0o644); err != nil {
			return err
		}
		res := buildOut{File: *out, Kind: info.Kind, Version: info.Version, IssuedAt: info.IssuedAt,
			FreshUntil: info.FreshUntil, GraceUntil: info.GraceUntil, Signer: info.Signer.String(),
			Delegated: info.Delegated, Counts: info.Counts}
		if *asJSON {
			return printJSON(report, res)
		}
		where := *out
		if toStdout {
			where = "standard output"
		}
		fmt.Fprintf(report, "wrote %s: trust bundle version %d, signed by %s\n", where, res.Version, signerWords(info.Signer, info.Delegated))
		printCounts(report, info.Counts)
		return nil
	}())
}

func signerWords(kid trust.KeyID, delegated bool) string {
	if delegated {
		return "delegated key " + kid.String()
	}
	return "the root " + kid.String()
}

func printCounts(w io.Writer, n trust.TrustCounts) {
	fmt.Fprintf(w, "native issuer keys: %d (%d revoked)\n", n.NativeKeys, n.NativeKeysRevoked)
	fmt.Fprintf(w, "document signer certificates: %d (%d revoked)\n", n.DSCs, n.DSCsRevoked)
	fmt.Fprintf(w, "SMART Health Card issuers: %d (%d keys)\n", n.SHCIssuers, n.SHCKeys)
	fmt.Fprintf(w, "pseudonym key: %s, centre's HPKE key: %s, revoked delegations: %d\n",
		yesNo(n.PseudonymKey), yesNo(n.HPKEKey), n.RevokedSigners)
	if n.ValueSets > 0 {
		fmt.Fprintf(w, "EU value sets: %d\n", n.ValueSets)
	} else {
		fmt.Fprintln(w, "EU value sets: none (terminals do not check EU certificates' codes; add them with --valuesets DIR)")
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

type inspectOut struct {
	File       string             `json:"file"`
	Kind       trust.Kind         `json:"kind"`
	Version    uint64             `json:"version"`
	Base       uint64             `json:"base,omitempty"`
	IssuedAt   time.Time          `json:"issued_at"`
	FreshUntil time.Time          `json:"fresh_until"`
	GraceUntil time.Time          `json:"grace_until"`
	Freshness  trust.Freshness    `json:"freshness"`
	AgeSeconds int64              `json:"age_seconds"`
	Signer     string             `json:"signer"`
	Delegated  bool               `json:"delegated"`
	Delegation *delegationOut     `json:"delegation,omitempty"`
	Counts     *trust.TrustCounts `json:"counts,omitempty"`
	PayloadLen int                `json:"payload_bytes"`
}

func runTrustInspect(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central trust inspect", stderr, cli.CommandHelp(ctx))
	rootPath := fs.String("root", "", "the operator root's public key file (required)")
	var at cli.Time
	fs.Var(&at, "at", "judge freshness at this `TIME` (RFC 3339; default now)")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central trust inspect", func() error {
		files, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(files) != 1 || *rootPath == "" {
			return cli.Usagef("usage: sentinel-central trust inspect FILE --root PUB [--at TIME] [--json]")
		}
		root, err := readPublicKey(*rootPath)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(files[0])
		if err != nil {
			return err
		}
		now := at.Or(time.Now())
		b, fr, err := trust.OpenBundle(data, root, now, trust.State{})
		if err != nil {
			return fmt.Errorf("%s: %w", files[0], err)
		}
		res := inspectOut{File: files[0], Kind: b.Kind, Version: b.Version, Base: b.Base, IssuedAt: b.IssuedAt,
			FreshUntil: b.FreshUntil, GraceUntil: b.GraceUntil, Freshness: fr,
			AgeSeconds: int64(b.Age(now) / time.Second), Signer: b.Signer.String(), Delegated: b.Delegation != nil,
			PayloadLen: len(b.Payload)}
		if d := b.Delegation; d != nil {
			res.Delegation = &delegationOut{KID: d.KID.String(), Kinds: d.Kinds, ValidFrom: d.Validity.NotBefore, ValidTo: d.Validity.NotAfter}
		}
		if b.Kind == trust.KindTrust {
			_, info, err := trust.LoadTrustBundle(data, root, now, trust.State{})
			if err != nil {
				return fmt.Errorf("%s: %w", files[0], err)
			}
			res.Counts = &info.Counts
		}
		if *asJSON {
			return printJSON(stdout, res)
		}
		fmt.Fprintf(stdout, "%s: %s bundle version %d", res.File, res.Kind, res.Version)
		if res.Base != 0 {
			fmt.Fprintf(stdout, " (applies to version %d)", res.Base)
		}
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "signed by %s", signerWords(b.Signer, res.Delegated))
		if d := res.Delegation; d != nil {
			fmt.Fprintf(stdout, ", delegated for %s until %s", joinKinds(d.Kinds), d.ValidTo.Format(time.RFC3339))
		}
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "issued %s, %s old: %s (fresh until %s, grace until %s)\n",
			res.IssuedAt.Format(time.RFC3339), b.Age(now).Round(time.Second), fr,
			res.FreshUntil.Format(time.RFC3339), res.GraceUntil.Format(time.RFC3339))
		if res.Counts != nil {
			printCounts(stdout, *res.Counts)
		} else {
			fmt.Fprintf(stdout, "payload: %d bytes\n", res.PayloadLen)
		}
		return nil
	}())
}
