package main

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/enrol"
	"sentinel/internal/central/hatest"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
	"sentinel/internal/passage"
	"sentinel/sync/client"
	syncenrol "sentinel/sync/enrol"
	"sentinel/sync/journal"
	syncserver "sentinel/sync/server"
)

// TestServeBehindHAProxy runs two `sentinel-central serve` on one
// PostgreSQL database, each with a data directory of its own, behind
// HAProxy in TCP mode, which passes TLS through, so mutual TLS stays
// between the terminal and the server. It shows:
//
//   - the second server refuses to start without the first one's device
//     CA, saying what to copy, and starts once it has it;
//   - both schedulers run, and the status base is published once;
//   - a terminal's uploads, each on a new connection, land on both
//     servers in turn, and every passage is stored exactly once;
//   - a policy published before the move into the database and a status
//     change made at one server are served by the other.
func TestServeBehindHAProxy(t *testing.T) {
	hatest.Need(t, "haproxy")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	conn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	dataA, dataB := filepath.Join(dir, "central-a"), filepath.Join(dir, "central-b")
	rootPub, signer, del := filepath.Join(dir, "root", "root.pub"), filepath.Join(dir, "online", "signer.key"), filepath.Join(dir, "online", "signer.delegation")
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "online"))
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "online", "signer.pub"),
		"--kinds", "trust,status-base,status-delta,policy,config", "--valid", "90d", "--out", del)
	mustRun(t, "trust", "hpke-keygen", "--out", filepath.Join(dir, "hpke"))
	// A's data directory has a policy from before the servers shared a
	// database: it moves into the database when A starts.
	writeTestFile(t, filepath.Join(dir, "p1.policy"), bundlestest.Policy(t, "p1"))
	mustRun(t, "bundles", "publish", "policy", filepath.Join(dir, "p1.policy"), "--key", signer, "--delegation", del, "--root-pub", rootPub, "--data", dataA)

	serveArgs := func(data string) []string {
		return []string{"--data", data, "--postgres", conn, "--root-pub", rootPub, "--hpke-key", filepath.Join(dir, "hpke", "centre.hpke.key"),
			"--key", signer, "--delegation", del, "--metrics", "127.0.0.1:0"}
	}
	a := startServe(t, serveArgs(dataA)...)

	// B without A's device CA: refused, in words that say what to copy.
	var out, errOut strings.Builder
	code := run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--enrol-listen", "127.0.0.1:0"}, serveArgs(dataB)...), strings.NewReader(""), &out, &errOut)
	if code != exitRefused || !strings.Contains(errOut.String(), "device CA") || !strings.Contains(errOut.String(), enrol.CAKeyFile) {
		t.Fatalf("B without A's CA: exit %d, stderr %q; want 1 naming the CA files to copy", code, errOut.String())
	}
	for _, f := range []string{enrol.CACertFile, enrol.CAKeyFile} {
		if err := copyFile(filepath.Join(dataA, f), filepath.Join(dataB, f)); err != nil {
			t.Fatal(err)
		}
	}
	b := startServe(t, serveArgs(dataB)...)

	hp := hatest.StartHAProxy(t, &hatest.Frontend{Name: "central", Backends: []hatest.Backend{
		{Name: "a", Addr: a.mtls}, {Name: "b", Addr: b.mtls},
	}})
	lb := hp.Addr("central")

	st, err := pgstore.Open(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The first scheduler round publishes the status base; the other
	// server's round, under the database's lock, finds it (checked again
	// at the end, when both have surely run).
	listed := func() string {
		repo, err := bundles.Open(bundles.Options{Shared: st})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range repo.List() {
			kinds = append(kinds, fmt.Sprintf("%s/%d", e.Kind, e.Version))
		}
		return strings.Join(kinds, " ")
	}
	for deadline := time.Now().Add(10 * time.Second); listed() != "policy/1 status-base/1"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("bundles in the database after both servers started: %s; want policy/1 status-base/1 (the policy moved in from A, one base)", listed())
		}
	}

	termDir, in := enrolTerminal(t, ctx, dataA, a.enrol, "north-gate")
	hpkePub, err := os.ReadFile(filepath.Join(dir, "hpke", "centre.hpke.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pubBytes, err := hex.DecodeString(strings.TrimSpace(string(hpkePub)))
	if err != nil {
		t.Fatal(err)
	}
	centreKey, err := hpke.DHKEM(ecdh.X25519()).NewPublicKey(pubBytes)
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(termDir, journal.FileName), journal.Options{CentreKey: centreKey, PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const passages = 60
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	for i := range passages {
		p := &journal.Passage{
			Time: at.Add(time.Duration(i) * time.Second), ClockTrusted: true, Lane: "in-1",
			Format: credential.FormatNative, Issuer: "ZJ",
			Holder:   credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: uint32(100 + i)},
			Decision: passage.Admit, Reasons: []string{"ok"}, PolicyVersion: 1,
		}
		if _, err := j.Append(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// A new connection per request: HAProxy balances connections round
	// robin, so the uploads alternate between the servers.
	tlsCfg, err := syncenrol.ClientTLSConfig(termDir)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true}}
	up, err := client.New(j, client.Options{URL: "https://" + lb, Device: in.Device, HTTP: hc, Batch: 5,
		Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Drain(ctx); err != nil {
		t.Fatalf("upload through HAProxy: %v\nA: %s\nB: %s", err, a.stderr, b.stderr)
	}
	var total float64
	for name, s := range map[string]*served{"A": a, "B": b} {
		n := values(scrape(t, s.metrics), "sentinel_central_ingest_records_total")[""]
		if n == 0 {
			t.Errorf("server %s stored no passage: the uploads did not alternate", name)
		}
		total += n
	}
	if total != passages {
		t.Errorf("the servers stored %v passages between them, want %d", total, passages)
	}
	seen := map[uint64]int{}
	for p, err := range st.Passages(ctx, central.Filter{Device: in.Device}) {
		if err != nil {
			t.Fatal(err)
		}
		seen[p.Seq]++
	}
	for seq := uint64(1); seq <= passages; seq++ {
		if seen[seq] != 1 {
			t.Errorf("passage %d stored %d times, want once", seq, seen[seq])
		}
	}
	if len(seen) != passages {
		t.Errorf("%d passages stored, want %d", len(seen), passages)
	}

	// The policy that moved in from A's directory, from B.
	dc := deviceClient(t, termDir)
	root, err := readPublicKey(rootPub)
	if err != nil {
		t.Fatal(err)
	}
	if bb := getBundle(t, dc, "https://"+b.mtls+syncserver.BundlePath(1, trust.KindPolicy), root); bb == nil || bb.Version != 1 {
		t.Errorf("B serves policy %v, want version 1, published at A before the move", bb)
	}
	// A status change made at A (through its control socket) is served
	// by B within its poll.
	var set struct {
		Bundle bundles.Entry `json:"bundle"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "status", "set", "--holder", "ZJ:7", "--status", "red", "--reason", "confirmed", "--data", dataA, "--key", signer, "--delegation", del, "--root-pub", rootPub, "--json")), &set); err != nil {
		t.Fatal(err)
	}
	if set.Bundle.Kind != trust.KindStatusDelta || set.Bundle.Version != 2 {
		t.Fatalf("status set at A published %s version %d, want the delta 2 on the base both servers share", set.Bundle.Kind, set.Bundle.Version)
	}
	if got := listed(); got != "policy/1 status-base/1 status-delta/2" {
		t.Errorf("bundles in the database at the end: %s; want policy/1 status-base/1 status-delta/2 (one base for two schedulers)", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		bb := getStatus(t, dc, "https://"+b.mtls+syncserver.StatusPath(1, 1), root)
		if bb != nil && bb.Kind == trust.KindStatusDelta && bb.Version == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B serves %v since status version 1, want A's delta 2", bb)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getBundle GETs url with the terminal's client and opens the first
// bundle of the answer under root; nil when there is none.
func getBundle(t *testing.T, hc *http.Client, url string, root any) *trust.Bundle {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		return nil
	}
	b, _, err := trust.OpenBundle(body, root, time.Now(), trust.State{})
	if err != nil {
		return nil
	}
	return b
}

// getStatus GETs a status download with the terminal's client and opens
// its first bundle under root; nil when there is none.
func getStatus(t *testing.T, hc *http.Client, url string, root any) *trust.Bundle {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	sr, err := syncserver.DecodeStatusResponse(body)
	if err != nil || len(sr.Bundles) == 0 {
		return nil
	}
	b, _, err := trust.OpenBundle(sr.Bundles[0], root, time.Now(), trust.State{})
	if err != nil {
		return nil
	}
	return b
}

// TestServeProxyProtocol: behind HAProxy in TCP mode every connection
// comes from HAProxy's address, so the per-source limit of enrolment held
// every client behind it to one budget. With send-proxy-v2 and serve
// --proxy-from, the server sees each client's address: two clients are
// limited apart. Without it (a second serve, HAProxy without the header),
// the second client is refused for the first one's requests. A PROXY
// header from anywhere but the load balancer is refused, and so is a
// connection from the load balancer without one.
func TestServeProxyProtocol(t *testing.T) {
	hatest.Need(t, "haproxy")
	dir := t.TempDir()
	rootPub := filepath.Join(dir, "root", "root.pub")
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	common := []string{"--root-pub", rootPub, "--no-time", "--no-schedule", "--limit", "enrol=0.001/1"}
	withPP := startServe(t, append([]string{"--data", filepath.Join(dir, "pp"), "--proxy-from", "127.0.0.2"}, common...)...)
	without := startServe(t, append([]string{"--data", filepath.Join(dir, "plain")}, common...)...)
	hp := hatest.StartHAProxy(t,
		&hatest.Frontend{Name: "pp", Backends: []hatest.Backend{{Name: "a", Addr: withPP.enrol, SendProxy: true, Source: "127.0.0.2"}}},
		&hatest.Frontend{Name: "plain", Backends: []hatest.Backend{{Name: "b", Addr: without.enrol, Source: "127.0.0.2"}}},
	)
	// get asks for the enrolment listener's root from local address from,
	// through addr, and returns the HTTP status (0 when refused).
	get := func(addr, from string) int {
		tr := &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // the status is what counts here
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}).DialContext,
		}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + addr + "/")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	limited := func(code int) bool { return code == http.StatusTooManyRequests }
	// Through the load balancer with the header: limited per client.
	if c := get(hp.Addr("pp"), "127.0.0.3"); c == 0 || limited(c) {
		t.Fatalf("the first request of client .3 through HAProxy with PROXY: got %d, want an answer within the limit\n%s", c, withPP.stderr)
	}
	if c := get(hp.Addr("pp"), "127.0.0.3"); !limited(c) {
		t.Errorf("the second request of client .3: got %d, want 429", c)
	}
	if c := get(hp.Addr("pp"), "127.0.0.4"); c == 0 || limited(c) {
		t.Errorf("client .4 after .3 spent its budget, with PROXY: got %d, want an answer within its own limit", c)
	}
	// Without the header, both clients are HAProxy's address.
	if c := get(hp.Addr("plain"), "127.0.0.3"); c == 0 || limited(c) {
		t.Fatalf("the first request through HAProxy without PROXY: got %d", c)
	}
	if c := get(hp.Addr("plain"), "127.0.0.4"); !limited(c) {
		t.Errorf("client .4 after .3 without PROXY: got %d, want 429 (one budget for everyone behind HAProxy): the test no longer shows the difference", c)
	}
	// Straight to the server: a client's connection without a header is
	// served; the load balancer's address without one is not.
	if c := get(withPP.enrol, "127.0.0.5"); c == 0 {
		t.Errorf("a direct client: refused, want served")
	}
	if c := get(withPP.enrol, "127.0.0.2"); c != 0 {
		t.Errorf("a connection from the load balancer without a PROXY header: got HTTP %d, want it refused", c)
	}
	// A client that sends a header to claim another address is refused.
	conn, err := net.Dial("tcp", withPP.enrol)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PROXY TCP4 10.9.9.9 127.0.0.1 4000 443\r\n")
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Errorf("a PROXY header from a client that is no load balancer was accepted")
	}
}

// TestOpsFromReplica: export and trace with --postgres-replica read the
// passages there and write the audit entry through --postgres, naming the
// replica as the store; devices list reads the replica alone. Here the
// "replica" URL asks for a standby and, with none, reaches the primary
// (target_session_attrs=prefer-standby), as in a centre whose replica is
// down; hatest's TestFailover reads a real standby.
func TestOpsFromReplica(t *testing.T) {
	data := t.TempDir()
	conn := pgtest.NewDatabase(t)
	st, err := pgstore.Open(context.Background(), conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := storetest.Recs(1, 30, "replica")
	if _, err := storetest.Ingest(context.Background(), st, "dev-1", central.Epoch{7}, recs); err != nil {
		t.Fatal(err)
	}
	st.Close()
	replica := conn + "&target_session_attrs=prefer-standby"
	from, to := recs[0].Time.Format(time.RFC3339), recs[29].Time.Add(time.Second).Format(time.RFC3339)
	code, out, errOut := sentinel(t, "export", "--from", from, "--to", to, "--format", "jsonl", "--purpose", "replica read", "--operator", "ana",
		"--data", data, "--postgres", conn, "--postgres-replica", replica)
	if code != exitOK || strings.Count(out, "\n") != 30 {
		t.Fatalf("export from the replica: exit %d, %d lines, want 30\n%s", code, strings.Count(out, "\n"), errOut)
	}
	es := auditLog(t, "--data", data, "--postgres", conn)
	if n := len(es); n != 1 || es[0].Store != "postgres replica" || es[0].Rows != 30 {
		t.Errorf("audit: got %+v, want one export of 30 rows read from the replica", es)
	}
	if code, _, errOut := sentinel(t, "trace", "--holder", recs[0].Holder, "--purpose", "replica read", "--operator", "ana", "--days", "366",
		"--data", data, "--postgres", conn, "--postgres-replica", replica); code != exitOK {
		t.Errorf("trace from the replica: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := sentinel(t, "devices", "list", "--data", data, "--postgres-replica", replica, "--json"); code != exitOK || !strings.Contains(out, "dev-1") {
		t.Errorf("devices list from the replica: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := sentinel(t, "export", "--from", from, "--to", to, "--format", "csv", "--purpose", "x", "--data", data, "--postgres-replica", replica); code != exitUsage || !strings.Contains(errOut, "--postgres-replica needs --postgres") {
		t.Errorf("--postgres-replica alone: exit %d %q, want 2 saying the audit log needs --postgres", code, errOut)
	}
}
