package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/device/camera"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/enrol"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/server"
	"sentinel/internal/central/storetest"
	syncenrol "sentinel/sync/enrol"
	"sentinel/sync/protocol"
)

func TestDevicesAddListRevoke(t *testing.T) {
	data := t.TempDir()
	pngPath := t.TempDir() + "/token.png"
	out := mustRun(t, "devices", "add", "--site", "north-gate", "--ttl", "2h", "--data", data, "--png", pngPath, "--json")
	var tok tokenOut
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if len(tok.Token) != 26 || tok.Site != "north-gate" || tok.QR != syncenrol.TokenQRPrefix+tok.Token {
		t.Errorf("got %+v, want a 26-character token for north-gate", tok)
	}
	if d := time.Until(tok.Expires); d < time.Hour || d > 2*time.Hour {
		t.Errorf("got expiry in %v, want about 2h", d)
	}
	res, err := camera.DecodeFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text() != tok.QR {
		t.Errorf("got QR %q, want %q", res.Text(), tok.QR)
	}
	text := mustRun(t, "devices", "add", "--site", "south", "--data", data)
	if !strings.Contains(text, "sentinelctl enrol --central https://HOST:PORT --ca ca.pem --token ") || !strings.Contains(text, "█") {
		t.Errorf("text output lacks the token line or the QR code:\n%s", text)
	}

	if out := mustRun(t, "devices", "list", "--data", data); !strings.Contains(out, "no terminals enrolled") {
		t.Errorf("got %q, want no terminals", out)
	}

	// Enrol a terminal with the first token through the handler, as the
	// server would.
	ca, err := enrol.LoadCA(data, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The store, held as by a running serve, which answers the CLI on its
	// control socket.
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), &boltstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stop, err := serveControl(data, st, nil, enginecmd.Env{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	rev := enrol.Revocations{Registry: st}
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	h := &enrol.Handler{CA: ca, Store: st, Root: root.Public()}
	req, _, err := syncenrol.NewRequest(tok.QR) // the scanned QR text works as the token
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(req)
	resp, err := h.Enrol(body)
	if err != nil {
		t.Fatal(err)
	}

	out = mustRun(t, "devices", "list", "--data", data, "--json")
	var ds []enrol.Device
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].ID != resp.Device || ds[0].Site != "north-gate" || !ds[0].Revoked.IsZero() {
		t.Fatalf("got %+v, want %s at north-gate, not revoked", ds, resp.Device)
	}
	if rev.Revoked(resp.Device) {
		t.Error("revoked before revoke")
	}
	mustRun(t, "devices", "revoke", "--device", resp.Device, "--data", data)
	// The running server's store sees the CLI's revocation.
	if !rev.Revoked(resp.Device) {
		t.Error("the server's store does not see the revocation")
	}
	if out := mustRun(t, "devices", "list", "--data", data); !strings.Contains(out, resp.Device) || strings.Contains(out, "\t-\n") {
		t.Errorf("list after revoke:\n%s", out)
	}

	cases := []struct {
		name string
		args []string
		code int
	}{
		{"add without site", []string{"devices", "add", "--data", data}, exitUsage},
		{"add with bad ttl", []string{"devices", "add", "--site", "s", "--ttl", "-1h", "--data", data}, exitUsage},
		{"revoke without device", []string{"devices", "revoke", "--data", data}, exitUsage},
		{"revoke unknown device", []string{"devices", "revoke", "--device", "t-nope", "--data", data}, exitRefused},
		{"unknown subcommand", []string{"devices", "frob"}, exitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errOut := sentinel(t, tc.args...); code != tc.code {
				t.Errorf("got exit %d, want %d (%s)", code, tc.code, errOut)
			}
		})
	}
}

// The device CA's key is private to the centre.
func TestDevicesCAKeyMode(t *testing.T) {
	data := t.TempDir()
	mustRun(t, "devices", "add", "--site", "s", "--data", data)
	if _, err := enrol.LoadCA(data, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	st, err := statMode(data + "/" + enrol.CAKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if st != 0o600 {
		t.Errorf("got CA key mode %v, want 0600", st)
	}
}

func statMode(path string) (fs.FileMode, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Mode().Perm(), nil
}

// enrolOne enrols a terminal at site through the enrolment handler, as the
// server would, and returns its device id.
// With pgURL, the centre keeps its state in PostgreSQL there.
func enrolOne(t *testing.T, data, site string, pgURL ...string) string {
	t.Helper()
	var tok tokenOut
	args := []string{"devices", "add", "--site", site, "--data", data, "--json"}
	if len(pgURL) > 0 {
		args = append(args, "--postgres", pgURL[0])
	}
	if err := json.Unmarshal([]byte(mustRun(t, args...)), &tok); err != nil {
		t.Fatal(err)
	}
	ca, err := enrol.LoadCA(data, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var st central.Store
	if len(pgURL) > 0 {
		st, err = pgstore.Open(context.Background(), pgURL[0], nil)
	} else {
		st, err = boltstore.Open(filepath.Join(data, server.StoreFile), &boltstore.Options{Timeout: time.Second})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	req, _, err := syncenrol.NewRequest(tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(req)
	resp, err := (&enrol.Handler{CA: ca, Store: st, Root: root.Public()}).Enrol(body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Device
}

// listFleet runs devices list --json with args and decodes it.
func listFleet(t *testing.T, args ...string) ([]deviceOut, string) {
	t.Helper()
	code, out, errOut := sentinel(t, append([]string{"devices", "list", "--json"}, args...)...)
	if code != exitOK {
		t.Fatalf("devices list: exit %d, want 0\nstderr: %s", code, errOut)
	}
	var ds []deviceOut
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return ds, errOut
}

// TestDevicesListUploads shows what the store knows beside the registry:
// last seen and the acknowledged records, "never" for a terminal that has
// not uploaded, a device the registry lacks, and "unknown" with a clear
// message while a server holds the bbolt store.
func TestDevicesListUploads(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	up, idle := enrolOne(t, data, "north"), enrolOne(t, data, "south")

	// Before any upload: both never seen.
	ds, _ := listFleet(t, "--data", data)
	if len(ds) != 2 || ds[0].LastSeen != nil || ds[1].LastSeen != nil || !ds[0].StoreRead {
		t.Fatalf("before uploads: got %+v, want two terminals never seen", ds)
	}

	seen := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	path := filepath.Join(data, server.StoreFile)
	s, err := boltstore.Open(path, &boltstore.Options{Now: func() time.Time { return seen }})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []struct {
		dev   string
		epoch central.Epoch
		to    uint64
	}{{up, central.Epoch{1}, 40}, {up, central.Epoch{2}, 5}, {"t-lost", central.Epoch{3}, 3}} {
		if _, err := storetest.Ingest(ctx, s, in.dev, in.epoch, storetest.Recs(1, in.to, "x")); err != nil {
			t.Fatal(err)
		}
	}

	reported := time.Now().Add(-time.Hour).UTC()
	rep, err := protocol.EncodeHealth(&protocol.Health{Device: up, Time: reported.Add(2 * time.Second), Software: "1.4.0+3.g1a2b3c4d5e6f", Last: 50, Acked: 45,
		Bundles: []protocol.BundleHealth{{Kind: "trust", Version: 4, Freshness: "fresh"}},
		Lanes:   []protocol.LaneHealth{{Name: "scanner", State: protocol.LaneOK}, {Name: "camera", State: protocol.LaneMissing, Reason: "unplugged"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutHealth(ctx, up, rep, reported); err != nil {
		t.Fatal(err)
	}

	// While the store is held, as by a running serve, which answers with
	// the registry on its control socket.
	stop, err := serveControl(data, s, nil, enginecmd.Env{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ds, errOut := listFleet(t, "--data", data)
	if len(ds) != 2 || ds[0].StoreRead || ds[0].LastSeen != nil {
		t.Errorf("store locked: got %+v, want two terminals, store not read", ds)
	}
	if !strings.Contains(errOut, "locked by a running 'sentinel-central serve'") {
		t.Errorf("store locked: got stderr %q, want it to say a server holds the store", errOut)
	}
	if code, out, _ := sentinel(t, "devices", "list", "--data", data); code != exitOK || !strings.Contains(out, "unknown") {
		t.Errorf("store locked, text: got exit %d\n%s\nwant 0 and unknown", code, out)
	}
	stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	ds, errOut = listFleet(t, "--data", data)
	if errOut != "" {
		t.Errorf("got stderr %q, want none", errOut)
	}
	want := map[string]struct {
		site  string
		seen  bool
		acked uint64
		marks int
	}{up: {"north", true, 45, 2}, idle: {"south", false, 0, 0}, "t-lost": {"", true, 3, 1}}
	if len(ds) != len(want) {
		t.Fatalf("got %d devices, want %d: %+v", len(ds), len(want), ds)
	}
	for _, d := range ds {
		t.Run(d.ID, func(t *testing.T) {
			w, ok := want[d.ID]
			if !ok {
				t.Fatalf("got unexpected device %s", d.ID)
			}
			if d.Site != w.site || d.Acked != w.acked || len(d.Marks) != w.marks || !d.StoreRead {
				t.Errorf("got site %q, acked %d, %d marks, read %v; want %q, %d, %d, true", d.Site, d.Acked, len(d.Marks), d.StoreRead, w.site, w.acked, w.marks)
			}
			if got := d.Health != nil; got != (d.ID == up) {
				t.Errorf("got health %+v, want a report only for %s", d.Health, up)
			} else if got && (d.Health.Backlog != 5 || d.Health.OffsetText() != "+2s" || len(d.Health.Faults) != 1) {
				t.Errorf("got health %+v, want backlog 5, offset +2s, one fault", d.Health)
			}
			if got := d.LastSeen != nil && d.LastSeen.Equal(seen); got != w.seen {
				t.Errorf("got last seen %v, want seen at %v: %v", d.LastSeen, seen, w.seen)
			}
		})
	}
	text := mustRun(t, "devices", "list", "--data", data)
	rows, byID := map[string]string{}, map[string]deviceOut{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n")[1:] {
		f := strings.Fields(line)
		rows[f[0]] = strings.Join(f[1:], " ")
	}
	for dev, want := range map[string]string{
		idle:     "south " + byID[idle].Enrolled.Format(time.RFC3339) + " " + byID[idle].NotAfter.Format(time.RFC3339) + " - never 0 never - - - - - -",
		"t-lost": "(not enrolled) - - - 2026-11-28T09:30:00Z 3 never - - - - - -",
	} {
		if rows[dev] != want {
			t.Errorf("text row of %s: got %q, want %q", dev, rows[dev], want)
		}
	}
	upPrefix := "north " + byID[up].Enrolled.Format(time.RFC3339) + " " + byID[up].NotAfter.Format(time.RFC3339) + " - 2026-11-28T09:30:00Z 45 1h0m"
	upSuffix := " ago 1.4.0+3.g1a2b3c4d5e6f 5 +2s trust 4 fresh camera: missing (unplugged) -"
	if !strings.HasPrefix(rows[up], upPrefix) || !strings.HasSuffix(rows[up], upSuffix) {
		t.Errorf("text row of %s: got %q, want %q…%q", up, rows[up], upPrefix, upSuffix)
	}
	if head := strings.Fields(strings.SplitN(text, "\n", 2)[0]); !slices.Contains(head, "BACKLOG") || !slices.Contains(head, "FAULTS") || !slices.Contains(head, "SOFTWARE") {
		t.Errorf("header %q lacks BACKLOG, FAULTS or SOFTWARE", head)
	}
}

// TestDevicesListPostgres reads last seen from PostgreSQL with --postgres.
func TestDevicesListPostgres(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	cs := pgtest.NewDatabase(t)
	dev := enrolOne(t, data, "north", cs)
	seen := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	s, err := pgstore.Open(ctx, cs, &pgstore.Options{Now: func() time.Time { return seen }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := storetest.Ingest(ctx, s, dev, central.Epoch{7}, storetest.Recs(1, 12, "x")); err != nil {
		t.Fatal(err)
	}
	rep, err := protocol.EncodeHealth(&protocol.Health{Device: dev, Time: time.Now(), Last: 20, Acked: 12})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutHealth(ctx, dev, rep, time.Now()); err != nil {
		t.Fatal(err)
	}
	ds, _ := listFleet(t, "--data", data, "--postgres", cs)
	if len(ds) != 1 || ds[0].ID != dev || ds[0].Acked != 12 || ds[0].LastSeen == nil || !ds[0].LastSeen.Equal(seen) {
		t.Fatalf("got %+v, want %s seen at %v with 12 acknowledged", ds, dev, seen)
	}
	if ds[0].Health == nil || ds[0].Health.Backlog != 8 {
		t.Errorf("got health %+v, want a backlog of 8", ds[0].Health)
	}
	if len(ds[0].Forks) != 0 {
		t.Errorf("got forks %+v before any, want none", ds[0].Forks)
	}

	// The terminal runs on a restored copy of its data: records 11 and
	// on differ from the centre's.
	restored := append(storetest.Recs(10, 10, "x"), storetest.Recs(11, 14, "restored")...)
	if _, err := storetest.Ingest(ctx, s, dev, central.Epoch{7}, restored); !errors.Is(err, central.ErrFork) {
		t.Fatalf("got %v, want a fork", err)
	}
	ds, _ = listFleet(t, "--data", data, "--postgres", cs)
	branch := central.ForkBranch(central.Epoch{7}, 11, restored[1].Stored)
	if len(ds) != 1 || len(ds[0].Forks) != 1 || ds[0].Forks[0].At != 11 || ds[0].Forks[0].Mark != 12 || ds[0].Forks[0].Branch != branch.String() {
		t.Fatalf("got forks %+v, want one at 11 against 12 naming branch %s", ds[0].Forks, branch)
	}
	text := mustRun(t, "devices", "list", "--data", data, "--postgres", cs)
	if !strings.Contains(text, "FORKS") || !strings.Contains(text, " at 11)") ||
		!strings.Contains(text, dev+": journal 070000000000… forked at record 11 (the centre held up to 12)") ||
		!strings.Contains(text, "restored or cloned copy") {
		t.Errorf("text: got\n%s\nwant the FORKS column and a line explaining the fork", text)
	}
}

// TestDevicesAddTicket: once serve recorded its enrolment address, devices
// add prints the one command the installer types: a ticket with that
// address and the device CA's fingerprint.
func TestDevicesAddTicket(t *testing.T) {
	data := t.TempDir()
	mustRun(t, "devices", "add", "--site", "north-gate", "--data", data) // makes the CA
	if err := os.WriteFile(filepath.Join(data, enrol.AddressFile), []byte("central.example:8444\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var tok tokenOut
	if err := json.Unmarshal([]byte(mustRun(t, "devices", "add", "--site", "north-gate", "--data", data, "--json")), &tok); err != nil {
		t.Fatal(err)
	}
	tk, err := syncenrol.ParseTicket(tok.Ticket)
	if err != nil {
		t.Fatalf("ticket %q: %v", tok.Ticket, err)
	}
	ca, err := enrol.LoadCA(data, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tk.Addr != "central.example:8444" || tk.Token != tok.Token || tk.CA != syncenrol.Fingerprint(ca.Cert.Raw) {
		t.Errorf("got ticket %+v, want the address, the token and the CA's fingerprint", tk)
	}
	if tok.Command != "sentinelctl enrol --token "+tok.Ticket || tok.QR != syncenrol.TokenQRPrefix+tok.Ticket {
		t.Errorf("got command %q, QR %q", tok.Command, tok.QR)
	}
	text := mustRun(t, "devices", "add", "--site", "north-gate", "--data", data, "--enrol-addr", "10.0.0.5:9444")
	if !strings.Contains(text, "    sentinelctl enrol --token SE1/10.0.0.5:9444/") {
		t.Errorf("text lacks the command with --enrol-addr's address:\n%s", text)
	}
}

// TestDevicesAddSite: a site id is letters, digits, '-', '_' and '.'; any
// other is a usage error that says what is allowed, and no token is made.
func TestDevicesAddSite(t *testing.T) {
	data := t.TempDir()
	for _, site := range []string{"bad site!", "-lead", "a/b", strings.Repeat("x", 65), "名字"} {
		code, _, errOut := runIssueCmd(t, "devices", "add", "--site", site, "--data", data)
		if code != exitUsage || !strings.Contains(errOut, "letters a-z and A-Z, digits") {
			t.Errorf("--site %q: got exit %d (%s), want 2 saying what is allowed", site, code, errOut)
		}
	}
	if out := mustRun(t, "devices", "list", "--data", data); !strings.Contains(out, "no terminals enrolled") {
		t.Errorf("after refused sites: got %q", out)
	}
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), &boltstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := st.EnrolTokens(context.Background()); err != nil || len(ts) != 0 {
		t.Errorf("a token was stored for a bad site: %+v (%v)", ts, err)
	}
	st.Close()
	for _, site := range []string{"north-gate", "ZJ.hz_01", "7"} {
		mustRun(t, "devices", "add", "--site", site, "--data", data)
	}
}
