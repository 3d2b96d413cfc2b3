package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/verify"
	"sentinel/device/camera"
	"sentinel/internal/cli"
)

// verdict is one line of `sentinelctl verify` output.
type verdict struct {
	Input    string            `json:"input"`
	Accepted bool              `json:"accepted"`
	Format   credential.Format `json:"format"`
	Reason   credential.Reason `json:"reason"`
	Message  string            `json:"message"`
	Detail   string            `json:"detail,omitempty"`
	// Field and Code: what a value-set refusal is about ("v.mp",
	// "EU/1/20/9999").
	Field      string                 `json:"field,omitempty"`
	Code       *string                `json:"code,omitempty"`
	Credential *credential.Credential `json:"credential,omitempty"`
}

// payload is one code to verify and where it came from.
type payload struct {
	input string // a label: file name, "arg N" or "stdin line N"; never the payload itself
	data  []byte
	err   error // reading or decoding the input failed
}

func runVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl verify", stderr, cli.CommandHelp(ctx))
	var trustFiles cli.Strings
	fs.Var(&trustFiles, "trust", "trusted keys: a certificate (PEM or DER), a JWKS (ISSUER_URL=FILE binds it to its issuer), a native issuer key, a trust bundle, or a directory of them; repeatable")
	root := fs.String("root", "", "operator root public key that signs trust bundles given with --trust")
	valueSetsDir := fs.String("valuesets", "", "check EU DCC codes against the EU value sets in `DIR` (the EU's value-set JSON files), in place of those of a trust bundle")
	var at cli.Time
	fs.Var(&at, "at", "verify as of this `TIME` (RFC 3339; without a zone it is UTC); default now")
	asJSON := fs.Bool("json", false, "print one JSON object per payload")
	lang := fs.String("lang", "en", "language of the messages: en or zh")
	rulesFlags := addVerifyRulesFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sentinelctl verify [--trust FILE]... [--root FILE] [--valuesets DIR] [--at TIME] [--rules DIR --country CC] [--json] PAYLOAD|-|FILE...")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Verifies health codes offline. A PAYLOAD is the text of a code (HCN1:, HC1:, shc:/);")
		fmt.Fprintln(stderr, "- reads one payload per line from standard input; a FILE is a QR image (PNG, JPEG),")
		fmt.Fprintln(stderr, "a text file holding a payload, or a .smart-health-card file. EU certificates' codes are")
		fmt.Fprintln(stderr, "checked against the EU value sets of --valuesets DIR or of the trust bundle, when given.")
		fmt.Fprintln(stderr, "With --rules, an EU DCC must also pass the EU business rules of the country of arrival")
		fmt.Fprintln(stderr, "(--country), which read those value sets.")
		fmt.Fprintln(stderr, "Exit status: 0 all accepted, 1 any refused, 2 usage error.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	return cli.Exit(stderr, "sentinelctl verify", func() error {
		posArgs, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(posArgs) == 0 {
			fs.Usage()
			return cli.Usagef("give at least one payload, image file or - for standard input")
		}
		now := time.Now()
		if !at.T.IsZero() {
			now = at.T
		}
		if len(trustFiles) == 0 {
			fmt.Fprintln(stderr, "sentinelctl verify: no --trust given: every code will be refused as untrusted (pass the issuers' keys, certificates or a trust bundle)")
		}
		store, err := loadTrust(trustFiles, *root, now, stderr)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		if *valueSetsDir != "" {
			vs, err := loadValueSetsDir(*valueSetsDir, stderr)
			if err != nil {
				return cli.Usagef("%v", err)
			}
			store.SetValueSets(vs)
		} else if store.ValueSets().Len() == 0 && len(trustFiles) > 0 {
			fmt.Fprintln(stderr, "sentinelctl verify: no EU value sets loaded: the codes of EU certificates are not checked (give --valuesets DIR, or a trust bundle that carries them)")
		}
		rules, err := rulesFlags.load(store, now, stderr)
		if err != nil {
			return err
		}
		if err := checkArgs(posArgs); err != nil {
			return cli.Usagef("%v", err)
		}
		v := verify.New(store)
		out := bufio.NewWriter(stdout)
		defer out.Flush()
		enc := json.NewEncoder(out)
		var refused error
		check := func(p payload) {
			vd := verdict{Input: p.input}
			var cred *credential.Credential
			verr := p.err
			if verr == nil {
				cred, verr = v.Verify(p.data, verify.Options{Now: now})
			}
			if verr == nil {
				verr = rulesFlags.check(rules, cred, now)
			}
			if verr != nil {
				refused = cli.ErrReported
				var rej *credential.Rejection
				if errors.As(verr, &rej) {
					vd.Format, vd.Reason, vd.Message, vd.Detail = rej.Format, rej.Reason, rej.Message(*lang), rej.Detail
					if rej.Field != "" {
						vd.Field, vd.Code = rej.Field, &rej.Code
					}
				} else {
					vd.Reason = credential.ReasonBadEncoding
					vd.Message = verr.Error()
				}
			} else {
				vd.Accepted, vd.Format, vd.Credential = true, cred.Format, cred
				vd.Message = acceptedMessage(cred, *lang)
			}
			if *asJSON {
				enc.Encode(vd)
				return
			}
			printVerdict(out, vd)
		}
		// One verdict per payload as it is read: standard input is streamed,
		// never held whole.
		var chunks chunkJoiner
		add := func(p payload) {
			for _, q := range chunks.add(p) {
				check(q)
			}
		}
		if err := eachPayload(ctx, posArgs, stdin, add, out.Flush); err != nil {
			out.Flush()
			if ctx.Err() != nil {
				return err
			}
			return cli.Usagef("%v", err)
		}
		for _, q := range chunks.flush(nil) {
			check(q)
		}
		return refused
	}())
}

func acceptedMessage(c *credential.Credential, lang string) string {
	if lang == "zh" {
		return "核验通过"
	}
	return "Verified"
}

func printVerdict(w io.Writer, v verdict) {
	if !v.Accepted {
		fmt.Fprintf(w, "REFUSED   %s  %s  [%s]\n", v.Input, v.Message, v.Reason)
		if v.Detail != "" {
			fmt.Fprintf(w, "          detail: %s\n", v.Detail)
		}
		return
	}
	c := v.Credential
	var parts []string
	parts = append(parts, string(c.Format))
	if c.Issuer != "" {
		parts = append(parts, "issuer "+c.Issuer)
	}
	if h := c.Holder.String(); h != "" {
		parts = append(parts, "holder "+h)
	}
	if c.Colour != credential.ColourNone {
		parts = append(parts, strings.ToUpper(c.Colour.String()))
	}
	if c.Facts != nil && c.Facts.Kind != "" {
		parts = append(parts, c.Facts.Kind)
	}
	if c.DisplayName != "" {
		parts = append(parts, fmt.Sprintf("%q", c.DisplayName))
	}
	if c.Rolling {
		parts = append(parts, "live code")
	} else if c.Paper {
		parts = append(parts, "paper code")
	}
	if !c.Expires.IsZero() {
		parts = append(parts, "expires "+c.Expires.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "ACCEPTED  %s  %s\n", v.Input, strings.Join(parts, "  "))
	for _, warn := range c.Warnings {
		fmt.Fprintf(w, "          warning: %s\n", warn)
	}
}

// checkArgs refuses, before any output, an argument that names no file
// but was meant as one.
func checkArgs(args []string) error {
	for _, a := range args {
		if a == "-" {
			continue
		}
		if st, err := os.Stat(a); (err != nil || st.IsDir()) && looksLikePath(a) {
			return fmt.Errorf("%s: no such file (a payload starts with HCN1:, HC1: or shc:/)", a)
		}
	}
	return nil
}

// eachPayload hands every payload of the arguments to add, in order: "-"
// reads lines from stdin one at a time, an existing file is an image, a
// text payload or an SHC file, and anything else is a payload itself.
// idle is called when standard input has nothing more buffered, so that
// the verdicts so far reach the reader before more input arrives.
func eachPayload(ctx context.Context, args []string, stdin io.Reader, add func(payload), idle func() error) error {
	for i, a := range args {
		if err := ctx.Err(); err != nil {
			return err
		}
		if a == "-" {
			if err := eachLine(ctx, stdin, add, idle); err != nil {
				return err
			}
			continue
		}
		if st, err := os.Stat(a); err == nil && !st.IsDir() {
			ps, err := filePayloads(a)
			if err != nil {
				return err
			}
			for _, p := range ps {
				add(p)
			}
			continue
		}
		add(payload{input: fmt.Sprintf("arg:%d", i+1), data: []byte(strings.TrimSpace(a))})
	}
	return nil
}

// maxLine is the longest stdin line read as a payload; a longer one is
// refused as too large and skipped.
const maxLine = credential.MaxPayload*2 + 2

// eachLine hands each non-empty line of r to add as "stdin:N", holding one
// line at a time.
func eachLine(ctx context.Context, r io.Reader, add func(payload), idle func() error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	line := make([]byte, 0, 8<<10)
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line = line[:0]
		tooLong := false
		var err error
		for {
			var frag []byte
			frag, err = br.ReadSlice('\n')
			if !tooLong {
				if len(line)+len(frag) > maxLine {
					tooLong, line = true, line[:0]
				} else {
					line = append(line, frag...)
				}
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read standard input: %w", err)
		}
		if err == io.EOF && len(line) == 0 && !tooLong {
			return nil
		}
		n++
		switch {
		case tooLong:
			add(payload{input: fmt.Sprintf("stdin:%d", n), err: credential.Reject("", credential.ReasonTooLarge, "line longer than %d characters", maxLine)})
		default:
			if data := bytes.TrimSpace(line); len(data) > 0 {
				add(payload{input: fmt.Sprintf("stdin:%d", n), data: append([]byte(nil), data...)})
			}
		}
		if err == io.EOF {
			return nil
		}
		if br.Buffered() == 0 {
			if err := idle(); err != nil {
				return err
			}
		}
	}
}

// filePayloads reads one file argument.
func filePayloads(path string) ([]payload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	label := filepath.Base(path)
	isImage := bytes.HasPrefix(head, []byte("\x89PNG")) || bytes.HasPrefix(head, []byte{0xff, 0xd8})
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".jpg", ".jpeg":
		if !isImage {
			return []payload{{input: label, err: credential.Reject("", credential.ReasonBadEncoding, "%s is not a PNG or JPEG image", label)}}, nil
		}
	}
	if isImage {
		img, err := camera.LoadGray(f)
		if err != nil {
			return []payload{{input: label, err: credential.Reject("", credential.ReasonBadEncoding, "image %s: %w", label, err)}}, nil
		}
		res, err := camera.Decode(img)
		if err != nil {
			return []payload{{input: label, err: credential.Reject("", credential.ReasonBadEncoding, "no QR code found in %s: %w", label, err)}}, nil
		}
		return []payload{{input: label, data: res.Payload}}, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if jws, ok, err := smartHealthCardFile(data); ok {
		if err != nil {
			return []payload{{input: label, err: err}}, nil
		}
		ps := make([]payload, len(jws))
		for i, j := range jws {
			ps[i] = payload{input: fmt.Sprintf("%s#%d", label, i+1), data: j}
		}
		return ps, nil
	}
	return []payload{{input: label, data: bytes.TrimSpace(data)}}, nil
}

// looksLikePath reports whether an argument that names no file was meant
// as one: it has a path separator or an image or text extension, and no
// payload prefix.
func looksLikePath(a string) bool {
	if _, ok := verify.Detect([]byte(a)); ok {
		return false
	}
	switch strings.ToLower(filepath.Ext(a)) {
	case ".png", ".jpg", ".jpeg", ".txt", ".json", ".smart-health-card":
		return true
	}
	return strings.ContainsRune(a, os.PathSeparator)
}
