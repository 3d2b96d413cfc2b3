package hatest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central/pgtest"
)

// Options configure StartCluster. The zero value is usable.
type Options struct {
	// Nodes is the number of PostgreSQL nodes, the first the primary
	// (2 when 0).
	Nodes int
	// TTL is Patroni's leader key lifetime in seconds (10 when 0): how
	// long a primary lost with its Patroni holds the lead.
	TTL int
	// Etcd is the etcd to use; nil starts one.
	Etcd *Etcd
	// Async replicates asynchronously: a commit does not wait for a
	// replica, and a primary lost loses what it had not yet sent. By
	// default Patroni's synchronous_mode makes every commit wait until a
	// replica has it, and only that replica may be promoted.
	Async bool
}

// Cluster is PostgreSQL managed by Patroni: a primary and streaming
// replicas, their leader elected in etcd.
type Cluster struct {
	Etcd    *Etcd
	Nodes   []*Node
	scope   string
	ownEtcd bool
	n       atomic.Int64
}

// Node is one PostgreSQL node and its Patroni.
type Node struct {
	Name string
	// Port is PostgreSQL's, API Patroni's REST API port (/primary
	// answers 200 on the primary only).
	Port, API int
	dir       string
	p         *proc
}

// scopes numbers the clusters of one test binary.
var scopes atomic.Int64

// StartCluster starts etcd (unless opts.Etcd) and opts.Nodes Patroni
// nodes, and waits until the first is the primary and every other one
// streams from it. It skips the test (or fails it under CI=true) where
// the programs are not installed.
func StartCluster(t testing.TB, opts *Options) *Cluster {
	t.Helper()
	Need(t, "etcd", "patroni")
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Nodes <= 0 {
		o.Nodes = 2
	}
	if o.TTL <= 0 {
		o.TTL = 10
	}
	own := o.Etcd == nil
	if own {
		o.Etcd = StartEtcd(t)
	}
	bin, err := pgtest.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Etcd: o.Etcd, ownEtcd: own, scope: fmt.Sprintf("hatest-%d-%d", os.Getpid(), scopes.Add(1))}
	for i := range o.Nodes {
		n := &Node{Name: fmt.Sprintf("n%d", i+1), Port: FreePort(t), API: FreePort(t), dir: tempDir(t, "hatest-pg-", asPostgres())}
		cfg := patroniConfig(c.scope, n, o, bin)
		path := filepath.Join(n.dir, "patroni.yml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if asPostgres() {
			uid, gid, _, err := postgresUser()
			if err != nil {
				t.Fatal(err)
			}
			os.Chown(path, uid, gid)
		}
		if n.p, err = start("patroni", filepath.Join(n.dir, "log"), asPostgres(), path); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Stop)
		c.Nodes = append(c.Nodes, n)
		// The first node bootstraps the cluster; the others clone it.
		want := "/primary"
		if i > 0 {
			want = "/replica"
		}
		if !waitFor(90*time.Second, func() bool { return !n.p.exited() && httpOK(n.apiURL()+want) }) {
			t.Fatalf("hatest: Patroni node %s did not become %s\n%s", n.Name, strings.TrimPrefix(want, "/"), n.p.tail())
		}
	}
	// Until Patroni names a synchronous standby, commits do not wait
	// for one, and a primary lost would take them along.
	if !o.Async && len(c.Nodes) > 1 {
		if !waitFor(60*time.Second, func() bool { return c.Nodes[0].syncStandbys() > 0 }) {
			t.Fatalf("hatest: Patroni named no synchronous standby\n%s", c.Nodes[0].p.tail())
		}
	}
	return c
}

// syncStandbys counts the replicas that stream synchronously from the
// node.
func (n *Node) syncStandbys() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", n.Port))
	if err != nil {
		return 0
	}
	defer conn.Close(ctx)
	var k int
	if conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'").Scan(&k) != nil {
		return 0
	}
	return k
}

func (n *Node) apiURL() string { return fmt.Sprintf("http://127.0.0.1:%d", n.API) }

// patroniConfig is node n's Patroni configuration: fsync off (the
// machine does not crash in a test; the node's processes do), trust on
// 127.0.0.1, a short leader key, synchronous replication unless
// o.Async.
func patroniConfig(scope string, n *Node, o Options, bin string) string {
	// loop_wait + 2 × retry_timeout must stay below ttl.
	retry := max(1, (o.TTL-2)/3)
	commit := "on"
	if o.Async {
		commit = "off"
	}
	return fmt.Sprintf(`scope: %s
name: %s
log:
  level: INFO
restapi:
  listen: 127.0.0.1:%d
  connect_address: 127.0.0.1:%d
etcd3:
  hosts: %s
bootstrap:
  dcs:
    ttl: %d
    loop_wait: 1
    retry_timeout: %d
    maximum_lag_on_failover: 1073741824
    synchronous_mode: %t
    postgresql:
      use_pg_rewind: false
      parameters:
        fsync: "off"
        synchronous_commit: "%s"
        full_page_writes: "on"
        max_connections: 200
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
  - encoding: UTF8
  - auth: trust
postgresql:
  listen: 127.0.0.1:%d
  connect_address: 127.0.0.1:%d
  data_dir: %s
  bin_dir: %s
  pgpass: %s
  authentication:
    superuser:
      username: postgres
      password: hatest
    replication:
      username: postgres
      password: hatest
  parameters:
    unix_socket_directories: %s
  pg_hba:
  - local all all trust
  - host all all 127.0.0.1/32 trust
  - host replication all 127.0.0.1/32 trust
`, scope, n.Name, n.API, n.API, strings.TrimPrefix(o.Etcd.URL, "http://"), o.TTL, retry, !o.Async, commit,
		n.Port, n.Port, filepath.Join(n.dir, "data"), bin, filepath.Join(n.dir, "pgpass"), n.dir)
}

// Postmaster returns the pid of the node's PostgreSQL postmaster, 0 when
// it does not run.
func (n *Node) Postmaster() int {
	b, err := os.ReadFile(filepath.Join(n.dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// Kill loses the node: SIGKILL to its Patroni and its postmaster at
// once, as a machine that dies. Its leader key, when it is the primary,
// lapses after the TTL.
func (n *Node) Kill() {
	pm := n.Postmaster()
	if !n.p.exited() {
		n.p.cmd.Process.Kill()
	}
	if pm > 0 {
		syscall.Kill(pm, syscall.SIGKILL)
	}
	<-n.p.done
}

// Stop stops the node's Patroni with SIGTERM, which stops PostgreSQL and,
// on the primary, hands the lead over at once; then kills what is left.
func (n *Node) Stop() {
	n.p.stop(syscall.SIGTERM, 20*time.Second)
	if pm := n.Postmaster(); pm > 0 {
		syscall.Kill(pm, syscall.SIGKILL)
	}
}

// Stop stops every node and, when StartCluster started it, etcd. The
// test's end does the same; a benchmark that starts a cluster per
// iteration stops each one at once.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
	if c.ownEtcd {
		c.Etcd.Stop()
	}
}

// Role asks the node's Patroni for its role: "primary" (Patroni 3 says
// "master" in places, reported as "primary"), "replica", or "" when it
// does not answer.
func (n *Node) Role() string {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(n.apiURL() + "/patroni")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var st struct {
		Role string `json:"role"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return ""
	}
	if st.Role == "master" {
		return "primary"
	}
	return st.Role
}

// IsPrimary reports whether the node's Patroni says it leads (/primary
// answers 200) and its PostgreSQL takes writes: Patroni says so a moment
// before the promotion ends.
func (n *Node) IsPrimary() bool {
	if !httpOK(n.apiURL() + "/primary") {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write", n.Port))
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

// Log is the end of the node's Patroni and PostgreSQL log.
func (n *Node) Log() string { return n.p.tail() }

// Primary returns the node that is primary now, nil when none is.
func (c *Cluster) Primary() *Node {
	for _, n := range c.Nodes {
		if n.IsPrimary() {
			return n
		}
	}
	return nil
}

// WaitPrimary waits up to d for a primary other than not and returns it.
func (c *Cluster) WaitPrimary(d time.Duration, not *Node) (*Node, error) {
	var got *Node
	if !waitFor(d, func() bool {
		got = c.Primary()
		return got != nil && got != not
	}) {
		return nil, fmt.Errorf("hatest: no new primary after %v", d)
	}
	return got, nil
}

// hosts is the nodes' host:port list.
func (c *Cluster) hosts() string {
	var hs []string
	for _, n := range c.Nodes {
		hs = append(hs, fmt.Sprintf("127.0.0.1:%d", n.Port))
	}
	return strings.Join(hs, ",")
}

// ConnString returns a connection string of database db that names every
// node and asks for the one that takes writes
// (target_session_attrs=read-write): a client reconnects to the new
// primary after a failover.
func (c *Cluster) ConnString(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&connect_timeout=2&target_session_attrs=read-write", c.hosts(), db)
}

// ReplicaConnString is ConnString for reading from a replica when one
// answers (target_session_attrs=prefer-standby), else from the primary.
func (c *Cluster) ReplicaConnString(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&connect_timeout=2&target_session_attrs=prefer-standby", c.hosts(), db)
}

// CreateDatabase creates a new empty database on the primary, waits until
// every replica has replayed its creation (WaitReplayed), and returns its
// name.
func (c *Cluster) CreateDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		t.Fatalf("hatest: connect to the primary: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("hatest_%d", c.n.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("hatest: create database: %v", err)
	}
	// A synchronous commit waits until the replica has written the
	// database's creation, not until it has replayed it: until then a
	// connection to the database on the replica fails (3D000).
	c.WaitReplayed(t, 60*time.Second)
	return name
}

// WaitReplayed waits up to d until every replica whose Patroni runs is in
// hot standby and has replayed the primary's WAL up to where it was when
// WaitReplayed was called: what committed before is then visible on every
// replica. It fails the test, with each replica's position, when one has
// not by then.
func (c *Cluster) WaitReplayed(t testing.TB, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		t.Fatalf("hatest: connect to the primary to read its WAL position: %v", err)
	}
	var lsn string
	var port int
	err = conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text, inet_server_port()").Scan(&lsn, &port)
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("hatest: read the primary's WAL position: %v", err)
	}
	for _, n := range c.Nodes {
		if n.Port == port || n.p.exited() {
			continue
		}
		var last string
		if !waitFor(d, func() bool {
			var ok bool
			ok, last = n.replayed(ctx, lsn)
			return ok
		}) {
			t.Fatalf("hatest: replica %s did not replay the primary's WAL up to %s within %v (%s)\n%s", n.Name, lsn, d, last, n.p.tail())
		}
	}
}

// replayed reports whether the node is in hot standby and has replayed
// the WAL up to lsn, and else where it stands.
func (n *Node) replayed(ctx context.Context, lsn string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", n.Port))
	if err != nil {
		return false, fmt.Sprintf("does not answer: %v", err)
	}
	defer conn.Close(ctx)
	var standby, done bool
	var at string
	err = conn.QueryRow(ctx, `SELECT pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false),
		coalesce(pg_last_wal_replay_lsn()::text, 'nothing')`, lsn).Scan(&standby, &done, &at)
	switch {
	case err != nil:
		return false, fmt.Sprintf("its replay position cannot be read: %v", err)
	case !standby:
		return false, "not in hot standby"
	case !done:
		return false, "replayed up to " + at
	}
	return true, ""
}

// Backends are the nodes as HAProxy backends checked on Patroni's
// /primary: HAProxy then sends to the primary alone.
func (c *Cluster) Backends() []Backend {
	var out []Backend
	for _, n := range c.Nodes {
		out = append(out, Backend{Name: n.Name, Addr: fmt.Sprintf("127.0.0.1:%d", n.Port), CheckPort: n.API})
	}
	return out
}
