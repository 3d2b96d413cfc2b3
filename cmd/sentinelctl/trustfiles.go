package main

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/shc"
	"sentinel/crypto/trust"
)

// loadTrust builds the trust store from the --trust arguments. A trust
// bundle (at most one, verified against --root) is the base; the other
// files add keys to it. Directories are read file by file, not recursing.
func loadTrust(args []string, rootFile string, now time.Time, stderr io.Writer) (*trust.Store, error) {
	var files []string
	var bound [][2]string // SHC key sets bound to their issuer: ISS=FILE
	for _, a := range args {
		if iss, file, ok := issuerBound(a); ok {
			bound = append(bound, [2]string{iss, file})
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("--trust %s: %w", a, err)
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, fmt.Errorf("--trust %s: %w", a, err)
		}
		var names []string
		for _, e := range entries {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, filepath.Join(a, e.Name()))
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("--trust %s: the directory holds no key files", a)
		}
		sort.Strings(names)
		files = append(files, names...)
	}

	var store *trust.Store
	var rest []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--trust %s: %w", f, err)
		}
		if !trust.IsBundle(data) {
			rest = append(rest, f)
			continue
		}
		if store != nil {
			return nil, fmt.Errorf("--trust %s: only one trust bundle can be given", f)
		}
		root, err := loadRoot(rootFile)
		if err != nil {
			return nil, fmt.Errorf("--trust %s is a trust bundle: %w", f, err)
		}
		s, info, err := trust.LoadTrustBundle(data, root, now, trust.State{})
		if err != nil {
			return nil, fmt.Errorf("--trust %s: %w", f, err)
		}
		fmt.Fprintf(stderr, "trust bundle %s: version %d, issued %s, %s\n",
			filepath.Base(f), info.Version, info.IssuedAt.UTC().Format(time.RFC3339), info.Freshness)
		if vs := s.ValueSets(); vs.Len() > 0 {
			fmt.Fprintf(stderr, "trust bundle %s: %s\n", filepath.Base(f), vs.Summary())
		}
		store = s
	}
	if store == nil {
		store = trust.New()
	}
	for _, f := range rest {
		if err := store.AddFile(f); err != nil {
			return nil, fmt.Errorf("--trust %w", err)
		}
	}
	for _, b := range bound {
		if err := addBoundJWKS(store, b[0], b[1]); err != nil {
			return nil, err
		}
	}
	return store, nil
}

// issuerBound splits a "--trust https://issuer=FILE" argument, which binds
// a SMART Health Card key set to its issuer: the keys then verify only
// cards whose iss is that URL. A bare JWKS file accepts any iss.
func issuerBound(arg string) (iss, file string, ok bool) {
	if !strings.HasPrefix(arg, "https://") {
		return "", "", false
	}
	i := strings.LastIndexByte(arg, '=')
	if i < 0 {
		return "", "", false
	}
	return arg[:i], arg[i+1:], true
}

func addBoundJWKS(store *trust.Store, iss, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("--trust %s=%s: %w", iss, file, err)
	}
	if _, err := store.AddJWKS(iss, data); err != nil {
		return fmt.Errorf("--trust %s=%s: %w", iss, file, err)
	}
	crls, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "crl", "*.json"))
	for _, c := range crls {
		data, err := os.ReadFile(c)
		if err != nil {
			return fmt.Errorf("--trust %s: %w", c, err)
		}
		if err := store.AddSHCCRL(data); err != nil {
			return fmt.Errorf("--trust %s: %w", c, err)
		}
	}
	return nil
}

func loadRoot(path string) (crypto.PublicKey, error) {
	if path == "" {
		return nil, fmt.Errorf("give the operator root public key with --root FILE to check its signature")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--root: %w", err)
	}
	pub, err := trust.ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("--root %s: %w", path, err)
	}
	return pub, nil
}

// smartHealthCardFile returns the JWSs of a .smart-health-card file; ok
// is false when data is not such a file.
func smartHealthCardFile(data []byte) (jws [][]byte, ok bool, err error) {
	t := bytes.TrimSpace(data)
	if !bytes.HasPrefix(t, []byte("{")) || !bytes.Contains(t, []byte(`"verifiableCredential"`)) {
		return nil, false, nil
	}
	list, err := shc.ParseFile(data)
	if err != nil {
		return nil, true, err
	}
	for _, j := range list {
		jws = append(jws, []byte(j))
	}
	return jws, true, nil
}

// chunkJoiner joins consecutive chunked SMART Health Card parts
// ("shc:/C/N/…") into one JWS payload, as the gate's scanner stage does,
// one payload at a time so that a stream of input is never held whole.
type chunkJoiner struct {
	asm    shc.Assembler
	labels []string
}

// add takes the next payload and returns what is ready to verify: the
// payload itself, a whole card, or an incomplete card followed by the
// payload.
func (j *chunkJoiner) add(p payload) []payload {
	if p.err != nil || !isChunk(p.data) {
		return append(j.flush(nil), p)
	}
	j.labels = append(j.labels, p.input)
	jws, _, err := j.asm.Add(string(p.data))
	switch {
	case err != nil:
		return j.flush(err)
	case jws != "":
		out := []payload{{input: strings.Join(j.labels, "+"), data: []byte(jws)}}
		j.labels = nil
		j.asm.Reset()
		return out
	}
	return nil
}

// flush returns the parts of a card still pending as one refusal: err, or
// that the card is incomplete.
func (j *chunkJoiner) flush(err error) []payload {
	if len(j.labels) == 0 {
		return nil
	}
	have, total := j.asm.Pending()
	if err == nil {
		err = credential.Reject(credential.FormatSHC, credential.ReasonBadEncoding, "only %d of %d parts of a chunked card were given", have, total)
	}
	out := []payload{{input: strings.Join(j.labels, "+"), err: err}}
	j.labels = nil
	j.asm.Reset()
	return out
}

// isChunk reports whether a payload is one part of a chunked SHC
// ("shc:/C/N/…" with N > 1).
func isChunk(b []byte) bool {
	rest, ok := bytes.CutPrefix(b, []byte(shc.Prefix))
	if !ok {
		return false
	}
	parts := bytes.SplitN(rest, []byte("/"), 3)
	return len(parts) == 3 && string(parts[1]) != "1"
}
