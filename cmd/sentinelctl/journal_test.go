package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/sync/enrol"
	"sentinel/sync/journal"
)

var journalT0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// makeJournal writes n passages, one a minute from journalT0, to a journal
// in a new data directory and returns the directory.
func makeJournal(t *testing.T, n int) (string, *journal.Journal) {
	t.Helper()
	dir := t.TempDir()
	j, err := journal.Open(journal.Path(dir), journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := &journal.Passage{
			Time: journalT0.Add(time.Duration(i) * time.Minute), ClockTrusted: true, Lane: "in-1",
			Format: credential.FormatNative, Issuer: "ZJ", KeyID: []byte{0xab, 0xcd},
			Holder:     credential.Holder{Issuer: "ZJ", Index: 987654},
			CodeColour: credential.ColourGreen, StatusColour: "green", Decision: passage.Admit,
			PolicyVersion: 3, Bundles: map[string]uint64{"trust": 2, "policy": 3},
		}
		if i == 1 {
			p.Decision, p.Reasons, p.CodeColour = passage.Deny, []string{"colour-red", "status-red"}, credential.ColourRed
			p.Override = &journal.Override{Who: "guard-7", Why: "retake"} // a record of version 1
		}
		if i == 3 {
			p.Reasons = []string{"guard-override"}
			p.Override = &journal.Override{Who: "guard-7", Why: "retake-normal", Of: 3} // version 2
		}
		if _, err := j.Append(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	return dir, j
}

func runCtl(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestJournalVerify(t *testing.T) {
	dir, j := makeJournal(t, 5)
	j.Close()
	code, out, errs := runCtl("journal", "verify", "--data-dir", dir)
	if code != exitOK || !strings.Contains(out, "hash chain: OK") || !strings.Contains(out, "records 1 to 5") {
		t.Fatalf("verify: got %d\n%s%s\nwant 0 and an OK chain of records 1 to 5", code, out, errs)
	}
	code, out, _ = runCtl("journal", "verify", "--json", "--data-dir", dir)
	var rep struct {
		OK      bool `json:"ok"`
		Records int  `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || !rep.OK || rep.Records != 5 {
		t.Fatalf("verify --json: got %d %+v (%v)\n%s", code, rep, err, out)
	}

	// Rewrite record 2: the chain breaks at record 3.
	db, err := bbolt.Open(journal.Path(dir), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("records"))
		k := []byte{0, 0, 0, 0, 0, 0, 0, 2}
		v := bytes.Clone(b.Get(k))
		v[len(v)-1] ^= 1
		return b.Put(k, v)
	})
	db.Close()
	code, out, _ = runCtl("journal", "verify", "--data-dir", dir)
	if code != exitRefused || !strings.Contains(out, "BROKEN at record 3") {
		t.Fatalf("verify of a broken chain: got %d\n%s\nwant 1 and BROKEN at record 3", code, out)
	}
}

func TestJournalWhileDaemonHoldsIt(t *testing.T) {
	dir, j := makeJournal(t, 3)
	defer j.Close()
	code, out, errs := runCtl("journal", "verify", "--data-dir", dir)
	if code != exitOK || !strings.Contains(errs, "reading a copy") || !strings.Contains(out, "hash chain: OK") {
		t.Fatalf("verify while held: got %d\n%s%s", code, out, errs)
	}
}

func TestJournalTail(t *testing.T) {
	dir, j := makeJournal(t, 5)
	j.Close()
	code, out, errs := runCtl("journal", "tail", "-n", "4", "--data-dir", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 4 {
		t.Fatalf("tail -n 4: got %d, %d lines\n%s%s", code, len(lines), out, errs)
	}
	if !strings.HasPrefix(strings.TrimSpace(lines[0]), "2 ") || !strings.Contains(lines[0], "colour-red,status-red") ||
		!strings.Contains(lines[0], "override=guard-7/retake") || !strings.Contains(lines[0], "holder=sealed temperature=sealed") {
		t.Errorf("tail line of record 2: got %q", lines[0])
	}
	if !strings.Contains(lines[2], "override=guard-7/retake-normal of=3") || strings.Contains(lines[0], "of=") {
		t.Errorf("tail names the overridden passage: got %q and %q", lines[2], lines[0])
	}
	if strings.Contains(out, "987654") {
		t.Error("tail shows the holder's index; it must stay sealed")
	}
	code, out, _ = runCtl("journal", "tail", "--json", "-n", "1", "--data-dir", dir)
	var row map[string]any
	if err := json.Unmarshal([]byte(out), &row); err != nil || code != exitOK || row["seq"] != 5.0 || row["holder"] != "sealed" {
		t.Fatalf("tail --json: got %d %v (%v)", code, row, err)
	}
}

func TestJournalExport(t *testing.T) {
	dir, j := makeJournal(t, 10)
	j.Close()
	tests := []struct {
		name string
		args []string
		seqs []string
	}{
		{"all", nil, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}},
		{"from to", []string{"--from", "2026-03-14T09:02:00Z", "--to", "2026-03-14T09:05:00Z"}, []string{"3", "4", "5"}},
		{"no zone means UTC", []string{"--from", "2026-03-14T09:08:00"}, []string{"9", "10"}},
		{"zone", []string{"--to", "2026-03-14T17:01:30+08:00"}, []string{"1", "2"}},
		{"date", []string{"--from", "2026-03-15"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"journal", "export", "--data-dir", dir, "--format", "csv"}, tc.args...)
			code, out, errs := runCtl(args...)
			if code != exitOK {
				t.Fatalf("got %d: %s", code, errs)
			}
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
				t.Fatalf("header: got %v", rows[:min(1, len(rows))])
			}
			var seqs []string
			for _, r := range rows[1:] {
				seqs = append(seqs, r[1])
				if want := map[string]string{"4": "3"}[r[1]]; r[19] != want {
					t.Errorf("row %s: override_of %q, want %q", r[1], r[19], want)
				}
				if r[16] != "sealed" || r[17] != "sealed" {
					t.Errorf("row %s: holder %q, temperature %q; want sealed", r[1], r[16], r[17])
				}
			}
			if strings.Join(seqs, " ") != strings.Join(tc.seqs, " ") {
				t.Fatalf("got seqs %v, want %v", seqs, tc.seqs)
			}
		})
	}

	code, out, _ := runCtl("journal", "export", "--data-dir", dir, "--format", "jsonl", "--to", "2026-03-14T09:02:00Z")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 2 {
		t.Fatalf("jsonl: got %d, %d lines", code, len(lines))
	}
	var row struct {
		Seq         int               `json:"seq"`
		Reasons     []string          `json:"reasons"`
		Bundles     map[string]uint64 `json:"bundles"`
		Temperature string            `json:"temperature"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &row); err != nil || row.Seq != 2 || len(row.Reasons) != 2 ||
		row.Bundles["policy"] != 3 || row.Temperature != "sealed" {
		t.Fatalf("jsonl row 2: got %+v (%v)", row, err)
	}

	outFile := filepath.Join(t.TempDir(), "passages.csv")
	if code, _, errs := runCtl("journal", "export", "--data-dir", dir, "--out", outFile); code != exitOK || !strings.Contains(errs, "exported 10 passages") {
		t.Fatalf("export --out: got %d: %s", code, errs)
	}
	if code, _, _ := runCtl("journal", "export", "--data-dir", dir, "--out", outFile); code != exitRefused {
		t.Fatalf("export over an existing file: got %d, want %d", code, exitRefused)
	}
}

func TestJournalUsage(t *testing.T) {
	dir, j := makeJournal(t, 1)
	j.Close()
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no subcommand", []string{"journal"}, exitUsage},
		{"unknown subcommand", []string{"journal", "rewind"}, exitUsage},
		{"bad format", []string{"journal", "export", "--format", "xml", "--data-dir", dir}, exitUsage},
		{"bad time", []string{"journal", "export", "--from", "yesterday", "--data-dir", dir}, exitUsage},
		{"to before from", []string{"journal", "export", "--from", "2026-03-15", "--to", "2026-03-14", "--data-dir", dir}, exitUsage},
		{"stray argument", []string{"journal", "verify", "extra", "--data-dir", dir}, exitUsage},
		{"bad count", []string{"journal", "tail", "-n", "0", "--data-dir", dir}, exitUsage},
		{"no journal", []string{"journal", "verify", "--data-dir", t.TempDir()}, exitRefused},
		{"help", []string{"journal", "-h"}, exitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, out, errs := runCtl(tc.args...); code != tc.want {
				t.Fatalf("got %d, want %d\n%s%s", code, tc.want, out, errs)
			}
		})
	}
}

// A damaged journal (cut short, emptied, metas zeroed) is reported in
// words with exit 1 by every reading subcommand, never a crash.
func TestJournalDamaged(t *testing.T) {
	dir, j := makeJournal(t, 200)
	j.Close()
	whole, err := os.ReadFile(journal.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	zeroed := bytes.Clone(whole)
	clear(zeroed[:2*4096])
	for name, b := range map[string][]byte{
		"cut to 16 KiB": whole[:16<<10],
		"cut to 20 KiB": whole[:20<<10],
		"empty":         nil,
		"metas zeroed":  zeroed,
	} {
		path := filepath.Join(t.TempDir(), "journal.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, sub := range []string{"verify", "tail", "export"} {
			code, out, errs := runCtl("journal", sub, "--file", path)
			if code != exitRefused || !strings.Contains(errs, "is damaged and cannot be read as a journal") {
				t.Errorf("%s: journal %s: got %d\n%s%s\nwant 1 and the file called damaged", name, sub, code, out, errs)
			}
		}
	}
}

// journal salvage recovers the readable passages of a damaged file and
// queues them in the data directory for sentineld; an empty file has
// nothing to salvage.
func TestJournalSalvage(t *testing.T) {
	dir, j := makeJournal(t, 200)
	j.Close()
	whole, err := os.ReadFile(journal.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(t.TempDir(), "journal.db.corrupt-20260314T090000Z")
	zeroed := bytes.Clone(whole)
	clear(zeroed[:2*4096])
	if err := os.WriteFile(damaged, zeroed, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCtl("journal", "salvage", "--dry-run", damaged)
	if code != exitOK || !strings.Contains(out, "salvaged 200 passages") || !strings.Contains(out, "nothing queued") {
		t.Fatalf("dry run: got %d\n%s%s", code, out, errs)
	}
	if q, _ := journal.Queued(dir); len(q) != 0 {
		t.Fatalf("dry run queued %v", q)
	}
	code, out, errs = runCtl("journal", "salvage", "--data-dir", dir, damaged)
	if code != exitOK || !strings.Contains(out, "records 1 to 200") || !strings.Contains(out, "queued as") {
		t.Fatalf("salvage: got %d\n%s%s", code, out, errs)
	}
	q, err := journal.Queued(dir)
	if err != nil || len(q) != 1 {
		t.Fatalf("queued: %v (%v)", q, err)
	}
	s, err := journal.ReadQueued(q[0])
	if err != nil || len(s.Records) != 200 || s.Epoch != j.Epoch() {
		t.Fatalf("queued salvage: %v", err)
	}

	empty := filepath.Join(t.TempDir(), "journal.db")
	os.WriteFile(empty, nil, 0o600)
	if code, out, errs := runCtl("journal", "salvage", "--data-dir", dir, empty); code != exitRefused || !strings.Contains(errs, "no passage is readable") {
		t.Fatalf("empty file: got %d\n%s%s", code, out, errs)
	}
	if code, _, _ := runCtl("journal", "salvage", "--data-dir", dir); code != exitUsage {
		t.Fatalf("no file: got %d, want %d", code, exitUsage)
	}
}

// TestJournalVerifyForked: verify says when the journal is a restored or
// cloned copy that forked from the centre's, and where its records go.
func TestJournalVerifyForked(t *testing.T) {
	dir, j := makeJournal(t, 5)
	branch := journal.Epoch{0xbe, 0xef}
	if err := j.SetBranch(journal.Branch{From: 3, Epoch: branch}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	code, out, errs := runCtl("journal", "verify", "--data-dir", dir)
	if code != exitOK || !strings.Contains(out, "forked at record 3") || !strings.Contains(out, "restored or cloned") ||
		!strings.Contains(out, branch.String()) || !strings.Contains(out, "acknowledged by the centre through 2") {
		t.Fatalf("verify: got %d\n%s%s\nwant 0, the fork at 3 and its branch, records before it acknowledged", code, out, errs)
	}
	code, out, _ = runCtl("journal", "verify", "--json", "--data-dir", dir)
	var rep struct {
		Branch *struct {
			From  uint64 `json:"from"`
			Epoch string `json:"epoch"`
		} `json:"branch"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || rep.Branch == nil || rep.Branch.From != 3 || rep.Branch.Epoch != branch.String() {
		t.Fatalf("verify --json: got %d %+v (%v)\n%s", code, rep, err, out)
	}
}

// writeDeviceCert writes an enrolment certificate naming device into
// dataDir, as sentinelctl enrol leaves it.
func writeDeviceCert(t *testing.T, dataDir, device string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(enrol.DeviceURIPrefix + device)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "terminal"}, URIs: []*url.URL{u},
		NotBefore: journalT0.Add(-time.Hour), NotAfter: journalT0.Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dataDir, enrol.CertFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestJournalTailRef: tail and export show each passage's reference, the
// one the guard display shows and sentinel-central passage show finds;
// a terminal not enrolled has none and tail says why.
func TestJournalTailRef(t *testing.T) {
	dir, j := makeJournal(t, 3)
	epoch := j.Epoch()
	j.Close()

	code, out, errs := runCtl("journal", "tail", "-n", "1", "--data-dir", dir)
	if code != exitOK || !strings.Contains(out, " ref=- ") || !strings.Contains(errs, "not enrolled") {
		t.Fatalf("tail, not enrolled: got %d\n%s%s\nwant 0, ref=- and a note that the terminal is not enrolled", code, out, errs)
	}

	const device = "dev-7Q2K"
	writeDeviceCert(t, dir, device)
	at := journalT0.Add(2 * time.Minute) // record 3
	want := passage.NewRef(device, epoch, 3, at).String()
	code, out, errs = runCtl("journal", "tail", "-n", "1", "--data-dir", dir)
	if code != exitOK || !strings.Contains(out, " ref="+want+" ") || strings.Contains(errs, "not enrolled") {
		t.Fatalf("tail: got %d\n%s%s\nwant ref=%s", code, out, errs, want)
	}
	code, out, _ = runCtl("journal", "tail", "--json", "-n", "1", "--data-dir", dir)
	var row struct {
		Seq uint64 `json:"seq"`
		Ref string `json:"ref"`
	}
	if err := json.Unmarshal([]byte(out), &row); err != nil || code != exitOK || row.Seq != 3 {
		t.Fatalf("tail --json: got %d %+v (%v)\n%s", code, row, err, out)
	}
	// What ops type finds this passage: the centre matches it the same way.
	ref, err := passage.ParseRef(strings.ToLower(row.Ref))
	if err != nil || !ref.Matches(device, epoch, 3, at) || ref.Matches(device, epoch, 2, at) {
		t.Fatalf("tail --json ref %q does not name record 3 (%v)", row.Ref, err)
	}

	code, out, errs = runCtl("journal", "export", "--data-dir", dir, "--to", "2026-03-14T09:01:00Z")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != exitOK || err != nil || len(rows) != 2 || rows[0][len(rows[0])-1] != "ref" ||
		rows[1][len(rows[1])-1] != passage.NewRef(device, epoch, 1, journalT0).String() {
		t.Fatalf("export: got %d (%v)\n%s%s\nwant record 1 with its ref in the last column", code, err, out, errs)
	}
}

// TestJournalConfig: verify, tail and export read the journal of the
// data_dir a configuration names, as status and selftest take --config;
// --config with --data-dir is a usage error, a missing or broken
// configuration is refused with what to do.
func TestJournalConfig(t *testing.T) {
	dir, j := makeJournal(t, 3)
	j.Close()
	cfgDir := t.TempDir()
	cfg := writeFile(t, cfgDir, "sentinel.toml", fmt.Sprintf("data_dir = %q\n", dir)+terminalHeader+
		"[[lane]]\nname = \"in\"\n  [[lane.scanner]]\n  type = \"hid\"\n  device = \"/dev/input/event-fake\"\n")
	for _, sub := range [][]string{{"verify"}, {"tail", "-n", "3"}, {"export"}} {
		args := append([]string{"journal"}, sub...)
		code, out, errs := runCtl(append(args, "--config", cfg)...)
		if code != exitOK || !strings.Contains(out, "2026-03-14T09:02:00Z") && !strings.Contains(out, "records 1 to 3") {
			t.Errorf("journal %s --config: got %d\n%s%s\nwant 0 and the journal of the configuration's data_dir", sub[0], code, out, errs)
		}
		if code, out, errs := runCtl(append(args, "--config", cfg, "--data-dir", dir)...); code != exitUsage || !strings.Contains(errs, "not both") {
			t.Errorf("journal %s --config --data-dir: got %d\n%s%s\nwant 2, not both", sub[0], code, out, errs)
		}
		missing := filepath.Join(cfgDir, "none.toml")
		if code, out, errs := runCtl(append(args, "--config", missing)...); code != exitRefused || !strings.Contains(errs, "no configuration file at "+missing) {
			t.Errorf("journal %s --config missing: got %d\n%s%s\nwant 1 and the loadConfig message", sub[0], code, out, errs)
		}
	}
	empty := writeFile(t, cfgDir, "empty.toml", fmt.Sprintf("data_dir = %q\n", t.TempDir())+terminalHeader+
		"[[lane]]\nname = \"in\"\n  [[lane.scanner]]\n  type = \"hid\"\n  device = \"/dev/input/event-fake\"\n")
	if code, out, errs := runCtl("journal", "verify", "--config", empty); code != exitRefused || !strings.Contains(errs, "data_dir of "+empty) {
		t.Errorf("journal verify, no journal in the configuration's data_dir: got %d\n%s%s\nwant 1 naming the configuration", code, out, errs)
	}
}

// A damaged log: verify says where the chain breaks and to keep the
// journal and both its logs, each of which journal salvage takes. Before,
// it named only journal.db for salvage, which does not hold the log's
// passages; and tail and export showed the passages before the damage
// with exit status 0, as if they were the whole journal.
func TestJournalDamagedLog(t *testing.T) {
	dir, j := makeJournal(t, 5)
	j.Close()
	path := journal.Path(dir)
	log := path + ".wal"
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	b[3] ^= 0xff // the header's magic
	if err := os.WriteFile(log, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCtl("journal", "verify", "--data-dir", dir)
	if code != exitRefused || !strings.Contains(out, "BROKEN at record 6") || !strings.Contains(out, "journal.db.wal:") {
		t.Fatalf("verify with a damaged log: got %d\n%s%s\nwant 1 and the break after record 5 in the log", code, out, errs)
	}
	for _, want := range []string{"sentinelctl journal salvage FILE", path + ".wal and", path + ".wal2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify with a damaged log does not say %q:\n%s", want, out)
		}
	}
	// tail and export show what is before the damage, and say that more
	// may follow it: their output is not the whole journal.
	for _, sub := range [][]string{{"tail", "-n", "3"}, {"export"}} {
		code, out, errs := runCtl(append([]string{"journal"}, append(sub, "--data-dir", dir)...)...)
		if code != exitRefused || !strings.Contains(errs, "the journal's log is damaged") || !strings.Contains(out, "2026-03-14T09:04:00Z") {
			t.Errorf("journal %s with a damaged log: got %d\n%s%s\nwant 1, the passages before the damage and a word that the log is damaged", sub[0], code, out, errs)
		}
	}
}

// A journal sentinelctl may not read: the error says to run it as root.
func TestJournalPermissionDenied(t *testing.T) {
	err := explainOpen(fmt.Errorf("open journal: %w", &fs.PathError{Op: "open", Path: "/x/journal.db.wal", Err: syscall.EACCES}), "/x/journal.db", false, "")
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "journal.db.wal") || !strings.Contains(err.Error(), "as root") {
		t.Fatalf("got %v, want the file, the cause and to run sentinelctl as root", err)
	}
}

// TestJournalGuide follows docs/install.md's section on the passage
// journal with a damaged log: verify says what the guide says it says,
// the restart the guide asks for (sentineld opens the journal and
// salvages what was moved aside) gives the outputs the guide promises,
// and journal salvage takes the copy of a log it names.
func TestJournalGuide(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, guide, ok := strings.Cut(string(md), "### The passage journal\n")
	if !ok {
		t.Fatal("docs/install.md has no section \"### The passage journal\"")
	}
	guide, _, _ = strings.Cut(guide, "\n## ")
	guide = strings.Join(strings.Fields(guide), " ")
	for _, quoted := range []string{"`hash chain: BROKEN`", "`hash chain: OK`", "`started after ... was moved aside`",
		"`journal.db.corrupt-TIME`", "`sentinelctl journal verify --config \"$CONFIG\"`",
		"`sentinelctl journal salvage --data-dir \"$DATA\" FILE`", "`another process holds the journal`"} {
		if !strings.Contains(guide, quoted) {
			t.Errorf("docs/install.md's journal section no longer says %s, which this test checks", quoted)
		}
	}

	dir, j := makeJournal(t, 5)
	j.Close()
	path := journal.Path(dir)
	b, err := os.ReadFile(path + ".wal2")
	if err != nil {
		t.Fatal(err)
	}
	b[10] ^= 0xff // the header's epoch
	if err := os.WriteFile(path+".wal2", b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, t.TempDir(), "sentinel.toml", fmt.Sprintf("data_dir = %q\n", dir)+terminalHeader+
		"[[lane]]\nname = \"in\"\n  [[lane.scanner]]\n  type = \"hid\"\n  device = \"/dev/input/event-fake\"\n")
	if code, out, errs := runCtl("journal", "verify", "--config", cfg); code != exitRefused || !strings.Contains(out, "hash chain: BROKEN") {
		t.Fatalf("journal verify --config of a damaged journal: got %d\n%s%s\nwant 1 and hash chain: BROKEN", code, out, errs)
	}

	// systemctl restart sentineld: the daemon opens its journal and
	// salvages what was moved aside.
	j, err = journal.Open(path, journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	a := j.Alarms()
	j.Close()
	if len(a) != 1 || a[0].Kind != journal.AlarmCorrupt || !strings.Contains(filepath.Base(a[0].MovedTo), "journal.db.corrupt-") {
		t.Fatalf("alarms after the restart: %+v, want the journal moved aside as journal.db.corrupt-TIME", a)
	}
	ss, err := journal.SalvageMovedAside(path, journalT0)
	if err != nil || len(ss) == 0 {
		t.Fatalf("salvage at the restart: %d salvages (%v)", len(ss), err)
	}
	code, out, errs := runCtl("journal", "verify", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "hash chain: OK") || !regexp.MustCompile(`started after \S+ was moved aside`).MatchString(out) {
		t.Fatalf("journal verify --config after the restart: got %d\n%s%s\nwant 0, hash chain: OK and started after ... was moved aside", code, out, errs)
	}

	// A copy of a log found elsewhere is queued by hand.
	copied := filepath.Join(t.TempDir(), "journal.db.wal")
	b, err = os.ReadFile(a[0].MovedTo + ".wal")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copied, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCtl("journal", "salvage", "--data-dir", dir, copied); code != exitOK || !strings.Contains(out, "salvaged 5 passages") {
		t.Fatalf("journal salvage --data-dir DATA of a log's copy: got %d\n%s%s\nwant 0 and its 5 passages", code, out, errs)
	}

	// A second process holds the journal.
	j, err = journal.Open(path, journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := journal.Open(path, journal.Options{PurgeEvery: -1, Timeout: 50 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), "another process holds the journal") {
		t.Fatalf("a second open: got %v, want another process holds the journal", err)
	}
}
