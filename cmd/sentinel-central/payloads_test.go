package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/trustbuild"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// sentinelIn runs the command with stdin.
func sentinelIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// deployment is a centre's keys made with the documented commands.
type deployment struct {
	dir, data, rootPub, signer, delegation, issuerPub, pseudo string
}

func newDeployment(t *testing.T) deployment {
	t.Helper()
	dir := t.TempDir()
	d := deployment{
		dir: dir, data: filepath.Join(dir, "central"), rootPub: filepath.Join(dir, "root", "root.pub"),
		signer: filepath.Join(dir, "signer", "signer.key"), delegation: filepath.Join(dir, "signer", "delegation.cbor"),
		issuerPub: filepath.Join(dir, "issuers", "ZJ.pub"), pseudo: filepath.Join(dir, "keys", "pseudonym.key"),
	}
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "signer"))
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "signer", "signer.pub"),
		"--kinds", "trust,status-base,status-delta,policy,config", "--valid", "90d", "--out", d.delegation)
	mustRun(t, "trust", "keygen", "--issuer", "ZJ", "--out", filepath.Join(dir, "issuers"))
	mustRun(t, "trust", "pseudonym-keygen", "--out", d.pseudo)
	return d
}

func (d deployment) publish(t *testing.T, kind, file string, extra ...string) (int, string, string) {
	t.Helper()
	return sentinel(t, append([]string{"bundles", "publish", kind, file, "--key", d.signer, "--delegation", d.delegation,
		"--root-pub", d.rootPub, "--data", d.data}, extra...)...)
}

// published opens the current bundle of kind in the repository as a
// terminal would.
func (d deployment) published(t *testing.T, kind trust.Kind) *trust.Bundle {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(d.data, "bundles", string(kind)+".bundle"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := readPublicKey(d.rootPub)
	if err != nil {
		t.Fatal(err)
	}
	b, fr, err := trust.OpenBundle(raw, root, time.Now(), trust.State{})
	if err != nil || fr != trust.FreshnessFresh {
		t.Fatalf("published %s bundle: %v, %v; want fresh", kind, fr, err)
	}
	return b
}

// TestPublishWhatTheToolsMake follows the documented pipeline: trust build
// to standard output, a policy source file, the example site settings with
// a guard block from config pin; each is published and opens, loads and
// compiles as a terminal would.
func TestPublishWhatTheToolsMake(t *testing.T) {
	d := newDeployment(t)

	// trust build ... > trust.bundle
	code, bundle, errOut := sentinel(t, "trust", "build", "--delegation", d.delegation, "--key", d.signer, "--root-pub", d.rootPub,
		"--native", d.issuerPub, "--pseudonym-key", d.pseudo, "--version", "7")
	if code != exitOK || !strings.Contains(errOut, "wrote standard output: trust bundle version 7") {
		t.Fatalf("trust build to standard output: exit %d, %q", code, errOut)
	}
	trustFile := filepath.Join(d.dir, "trust.bundle")
	writeTestFile(t, trustFile, []byte(bundle))
	code, out, errOut := d.publish(t, "trust", trustFile)
	if code != exitOK || !strings.Contains(out, "published trust version 1") || !strings.Contains(out, "signed trust bundle (version 7)") {
		t.Fatalf("publish trust: exit %d, %q %q", code, out, errOut)
	}
	root, _ := readPublicKey(d.rootPub)
	raw, _ := os.ReadFile(filepath.Join(d.data, "bundles", "trust.bundle"))
	_, info, err := trust.LoadTrustBundle(raw, root, time.Now(), trust.State{})
	if err != nil || info.Counts.NativeKeys != 1 || !info.Counts.PseudonymKey || info.Version != 1 {
		t.Fatalf("the published trust bundle: %+v, %v; want one native key and the pseudonym key", info, err)
	}

	// config example, config pin, bundles publish config
	site := filepath.Join(d.dir, "site.toml")
	mustRun(t, "config", "example", "--site-type", "pharmacy", "--out", site)
	code, block, errOut := sentinelIn(t, "135790\n", "config", "pin", "--guard", "guard-01")
	if code != exitOK || !strings.Contains(block, "[[guard]]\nid = \"guard-01\"\npin_hash = \"pbkdf2-sha256$") {
		t.Fatalf("config pin: exit %d, %q %q", code, block, errOut)
	}
	ex, _ := os.ReadFile(site)
	ex = bytes.Replace(ex, []byte(`language = "zh"`), []byte(`language = "en"`), 1)
	writeTestFile(t, site, append(ex, block...))
	if out := mustRun(t, "config", "check", site); !strings.Contains(out, "a pharmacy") || !strings.Contains(out, "1 guard who may override (guard-01)") {
		t.Errorf("config check: %q", out)
	}
	if code, out, errOut := d.publish(t, "config", site); code != exitOK || !strings.Contains(out, "published config version 1") {
		t.Fatalf("publish config: exit %d, %q %q", code, out, errOut)
	}
	s, err := siteconfig.Parse(d.published(t, trust.KindConfig).Payload)
	if err != nil || s.Type != siteconfig.Pharmacy || s.Language != "en" || s.GuardFor("135790") != "guard-01" || s.GuardFor("135791") != "" {
		t.Fatalf("the published config: %+v, %v", s, err)
	}

	// A policy source file: the site type comes from the published config.
	src := filepath.Join("..", "..", "internal", "policy", "defaults", "pharmacy.policy")
	code, out, errOut = d.publish(t, "policy", src, "--label", "pharmacy 2026-12-07", "--fever", "37.5")
	if code != exitOK || !strings.Contains(out, "published policy version 1") || !strings.Contains(out, "fever 37.5 °C") {
		t.Fatalf("publish policy: exit %d, %q %q", code, out, errOut)
	}
	pb, err := policy.ParseBundle(d.published(t, trust.KindPolicy).Payload)
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.New(pb, s.Type)
	if err != nil || e.Version() != "pharmacy 2026-12-07" || pb.Fever.Celsius() < 37.49 || pb.Fever.Celsius() > 37.51 || pb.Yellow != passage.Refer {
		t.Fatalf("the published policy on a pharmacy terminal: %v, %+v", err, pb)
	}

	// Every default policy publishes for the config's site type; a policy
	// for another site type is refused.
	for _, st := range siteconfig.SiteTypes() {
		src := filepath.Join("..", "..", "internal", "policy", "defaults", string(st)+".policy")
		if st != siteconfig.Pharmacy {
			code, _, errOut := d.publish(t, "policy", src, "--site-type", string(st))
			if code != exitRefused || !strings.Contains(errOut, `site_type = "pharmacy"`) {
				t.Errorf("%s policy on a pharmacy deployment: exit %d, %q; want refused naming the config's site_type", st, code, errOut)
			}
			continue
		}
		if code, _, errOut := d.publish(t, "policy", src); code != exitOK {
			t.Errorf("%s: exit %d, %q", st, code, errOut)
		}
	}
}

// TestPublishRefusals checks that every refusal names the file, the line
// where there is one, and what to change.
func TestPublishRefusals(t *testing.T) {
	d := newDeployment(t)
	write := func(name, content string) string {
		p := filepath.Join(d.dir, name)
		writeTestFile(t, p, []byte(content))
		return p
	}
	other := t.TempDir()
	mustRun(t, "trust", "root-keygen", "--out", other)
	otherTrust := filepath.Join(d.dir, "other-trust.bundle")
	mustRun(t, "trust", "build", "--root", filepath.Join(other, "root.key"), "--version", "1", "--out", otherTrust)
	mustRun(t, "bundles", "publish", "config", write("ok.toml", "site_type = \"supermarket\"\n"), "--key", d.signer,
		"--delegation", d.delegation, "--root-pub", d.rootPub, "--data", d.data)
	signedConfig := filepath.Join(d.data, "bundles", "config.bundle")

	for _, tc := range []struct {
		name, kind, file string
		extra            []string
		code             int
		want             []string
	}{
		{"policy does not compile", "policy", write("bad.policy", "rule fever\n  when temperature.available &&\n       temperature.celsius >= settings.fevr\n  refer fever\n\ndefault refer no-rule-matched\n"),
			nil, exitRefused, []string{"bad.policy: the policy does not compile", "bad.policy:3:39: rule fever (when): undefined field 'fevr'"}},
		{"policy without default", "policy", write("nodefault.policy", "rule a\n  when true\n  admit\n"),
			nil, exitRefused, []string{"nodefault.policy:", "default"}},
		{"policy for another site", "policy", filepath.Join("..", "..", "internal", "policy", "defaults", "compound.policy"),
			[]string{"--site-type", "compound"}, exitRefused, []string{"compound.policy: the policy is for a compound", `site_type = "supermarket"`, "--site-type supermarket"}},
		{"policy bad fever", "policy", filepath.Join("..", "..", "internal", "policy", "defaults", "supermarket.policy"),
			[]string{"--fever", "45"}, exitUsage, []string{"--fever \"45\": want degrees Celsius from 35 to 42"}},
		{"policy bad resident", "policy", filepath.Join("..", "..", "internal", "policy", "defaults", "supermarket.policy"),
			[]string{"--residents", write("residents.txt", "# residents\nZJ:42\nZhang San\n")}, exitRefused, []string{"residents.txt:3:", "not a holder id", "ISSUER:INDEX"}},
		{"a resident whose issuer is a name", "policy", filepath.Join("..", "..", "internal", "policy", "defaults", "supermarket.policy"),
			[]string{"--residents", write("residents2.txt", "ZJ:42\nZhang San:12\n")}, exitRefused, []string{"residents2.txt:2:", "not a holder identifier", "ISSUER:INDEX"}},
		{"policy flag on config", "config", write("c.toml", "site_type = \"supermarket\"\n"),
			[]string{"--fever", "37.5"}, exitUsage, []string{"--fever sets a policy"}},
		{"config unknown key", "config", write("typo.toml", "site_type = \"supermarket\"\n\nretention_dayz = 7\n"),
			nil, exitRefused, []string{"typo.toml: the site settings are not valid", "typo.toml:3:1: retention_dayz: unknown key (did you mean \"retention_days\"?)"}},
		{"config bad value", "config", write("zero.toml", "site_type = \"supermarket\"\nretention_days = 0\n"),
			nil, exitRefused, []string{"zero.toml:2:1: retention_days: 0: write a number of days from 1 to 366"}},
		{"config threshold", "config", write("fever.toml", "site_type = \"supermarket\"\nfever = 37.5\n"),
			nil, exitRefused, []string{"fever.toml:2:1: fever:", "bundles publish policy` as --fever"}},
		{"config PIN in clear", "config", write("pin.toml", "site_type = \"supermarket\"\n[[guard]]\nid = \"g\"\npin_hash = \"135790\"\n"),
			nil, exitRefused, []string{"pin.toml:4:1: guard[0].pin_hash:", "sentinel-central config pin"}},
		{"config a policy", "config", filepath.Join("..", "..", "internal", "policy", "defaults", "supermarket.policy"),
			nil, exitRefused, []string{"supermarket.policy: the site settings are not valid", "supermarket.policy:10:6: syntax error"}},
		{"trust a text file", "trust", write("notes.txt", "site_type = \"supermarket\"\n"),
			nil, exitRefused, []string{"notes.txt: a text file, not a trust bundle", "trust build"}},
		{"trust from another root", "trust", otherTrust,
			nil, exitRefused, []string{"other-trust.bundle: a signed bundle that does not open under the operator root given with --root-pub"}},
		{"trust given a config bundle", "trust", signedConfig,
			nil, exitRefused, []string{"config.bundle: a signed config bundle, not a trust bundle: publish it with `bundles publish config`"}},
		{"missing file", "config", filepath.Join(d.dir, "nope.toml"),
			nil, exitRefused, []string{"read the config file", "nope.toml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := d.publish(t, tc.kind, tc.file, tc.extra...)
			if code != tc.code {
				t.Fatalf("got exit %d (%q %q), want %d", code, out, errOut, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("got %q, want it to say %q", errOut, w)
				}
			}
		})
	}
	// Nothing refused was published: only the config is there.
	out := mustRun(t, "bundles", "list", "--data", d.data)
	if strings.Contains(out, "policy") || strings.Contains(out, "trust") {
		t.Errorf("a refused bundle was published: %s", out)
	}
}

func TestConfigExample(t *testing.T) {
	for _, st := range siteconfig.SiteTypes() {
		out := mustRun(t, "config", "example", "--site-type", string(st))
		if !strings.Contains(out, "site_type = \""+string(st)+"\"") || !strings.Contains(out, "config pin") {
			t.Errorf("%s: %q", st, out)
		}
		if _, err := siteconfig.ParseTOML("x.toml", []byte(out)); err != nil {
			t.Errorf("%s: the example does not parse: %v", st, err)
		}
	}
	if code, _, errOut := sentinel(t, "config", "example", "--site-type", "bank"); code != exitUsage || !strings.Contains(errOut, "want supermarket, pharmacy") {
		t.Errorf("bank: exit %d %q", code, errOut)
	}
	if code, _, _ := sentinel(t, "config", "example"); code != exitUsage {
		t.Errorf("no site type: exit %d, want %d", code, exitUsage)
	}
	p := filepath.Join(t.TempDir(), "site.toml")
	mustRun(t, "config", "example", "--site-type", "compound", "--out", p)
	if code, _, errOut := sentinel(t, "config", "example", "--site-type", "compound", "--out", p); code != exitRefused || !strings.Contains(errOut, "exists already") {
		t.Errorf("overwrite: exit %d %q", code, errOut)
	}
}

func TestConfigPIN(t *testing.T) {
	code, out, _ := sentinelIn(t, "246813\n", "config", "pin")
	m := regexp.MustCompile(`^pin_hash = "(pbkdf2-sha256\$[^"]+)"\n$`).FindStringSubmatch(out)
	if code != exitOK || m == nil || !siteconfig.CheckPIN(m[1], "246813") || siteconfig.CheckPIN(m[1], "246814") {
		t.Fatalf("config pin: exit %d %q", code, out)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"1234\n", nil, exitRefused, "4 digits is too short: type at least 6"},
		{"12345\n", nil, exitRefused, "too short"},
		{"12a456\n", nil, exitRefused, "digits only"},
		{"000000\n", nil, exitRefused, "one digit repeated"},
		{"", nil, exitRefused, "no PIN on standard input"},
		{"246813\n", []string{"--guard", "bad id!"}, exitUsage, "--guard \"bad id!\""},
		{"246813\n", []string{"246813"}, exitUsage, "never from the command line"},
	} {
		code, out, errOut := sentinelIn(t, tc.stdin, append([]string{"config", "pin"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("stdin %q %v: exit %d %q %q; want exit %d saying %q", tc.stdin, tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
}

func TestPseudonymKeygen(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys", "pseudonym.key")
	mustRun(t, "trust", "pseudonym-keygen", "--out", p)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := hex.DecodeString(strings.TrimSpace(string(data))); err != nil || len(k) != trust.PseudonymKeySize {
		t.Errorf("got %q, want %d bytes in hex", data, trust.PseudonymKeySize)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if got, err := trustbuild.ReadPseudonymKey(p); err != nil || len(got) != trust.PseudonymKeySize {
		t.Errorf("trust build cannot read it: %v", err)
	}
	if code, _, errOut := sentinel(t, "trust", "pseudonym-keygen", "--out", p); code != exitRefused || !strings.Contains(errOut, "exists already") {
		t.Errorf("overwrite: exit %d %q", code, errOut)
	}
	p2 := filepath.Join(t.TempDir(), "p2.key")
	mustRun(t, "trust", "pseudonym-keygen", "--out", p2)
	if a, b := readFile(t, p), readFile(t, p2); a == b {
		t.Error("two keys are equal")
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExampleHints: the command that config example and policy example
// print after writing their file is whole: with the placeholders replaced
// by a deployment's data directory and keys, and nothing else added, it
// publishes the file. The hint once left out --data, so pasted as told it
// wrote into the default data directory instead of the operator's.
func TestExampleHints(t *testing.T) {
	d := newDeployment(t)
	paste := func(out string) []string {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		cmd := strings.TrimSpace(lines[len(lines)-1])
		if len(lines) != 2 || !strings.HasPrefix(cmd, "sentinel-central bundles publish ") {
			t.Fatalf("want what was written and the command to publish it, got %q", out)
		}
		for _, p := range []string{"--data DATA", "--key SIGNER.key", "--delegation SIGNER.delegation", "--root-pub ROOT.pub"} {
			if !strings.Contains(cmd, p) {
				t.Fatalf("the hint lacks %q: %s", p, cmd) // run as it is, it would publish elsewhere
			}
		}
		fill := strings.NewReplacer("DATA", d.data, "SIGNER.key", d.signer, "SIGNER.delegation", d.delegation, "ROOT.pub", d.rootPub)
		return strings.Fields(fill.Replace(strings.TrimPrefix(cmd, "sentinel-central ")))
	}
	site := filepath.Join(d.dir, "site.toml")
	args := paste(mustRun(t, "config", "example", "--site-type", "pharmacy", "--out", site))
	if code, out, errOut := sentinel(t, args...); code != exitOK || !strings.Contains(out, "published config version 1") {
		t.Fatalf("the config hint %q: exit %d, %q %q", args, code, out, errOut)
	}
	pol := filepath.Join(d.dir, "site.policy")
	args = paste(mustRun(t, "policy", "example", "--site-type", "pharmacy", "--out", pol))
	if code, out, errOut := sentinel(t, args...); code != exitOK || !strings.Contains(out, "published policy version 1") {
		t.Fatalf("the policy hint %q: exit %d, %q %q", args, code, out, errOut)
	}
	for _, kind := range []string{"config", "policy"} {
		if _, err := os.Stat(filepath.Join(d.data, "bundles", kind+".bundle")); err != nil {
			t.Errorf("%s: not published into the deployment's data directory: %v", kind, err)
		}
	}
}

// TestShellWord: a path in a hint pastes into a shell as one word.
func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"site.toml":          "site.toml",
		"/srv/c/site-1.toml": "/srv/c/site-1.toml",
		"my site.toml":       "'my site.toml'",
		"it's.toml":          `'it'\''s.toml'`,
		"":                   "''",
		"$HOME/x.toml":       "'$HOME/x.toml'",
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}
