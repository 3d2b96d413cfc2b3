package hatest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"sentinel/internal/central/pgtest"
)

// ErrNotInstalled is returned when a program the harness starts is
// missing.
var ErrNotInstalled = errors.New("hatest: not installed")

// programs are what each part needs in PATH, and the Debian package that
// installs it.
var programs = map[string]string{
	"etcd":    "etcd-server",
	"patroni": "patroni",
	"haproxy": "haproxy",
}

// Need skips the test loudly when a program among progs (etcd, patroni,
// haproxy; PostgreSQL for patroni) is not installed, and fails it when
// CI=true.
func Need(t testing.TB, progs ...string) {
	t.Helper()
	var missing []string
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian's %s)", p, programs[p]))
		}
		if p == "patroni" {
			if _, err := pgtest.BinDir(); err != nil {
				missing = append(missing, "PostgreSQL (Debian's postgresql)")
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("%v: %s; %s needs them (apt-get install etcd-server patroni haproxy postgresql)", ErrNotInstalled, strings.Join(missing, ", "), t.Name())
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: CI must install them)", msg)
	}
	t.Skipf("SKIPPING: %s", msg)
}

// FreePort returns a port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hatest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a process the harness started and stops.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// start starts name with args, its output into log, as the user postgres
// when asPG.
func start(name, log string, asPG bool, args ...string) (*proc, error) {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = os.Environ()
	if asPG {
		uid, gid, home, err := postgresUser()
		if err != nil {
			return nil, err
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		cmd.Env = append(cmd.Env, "HOME="+home, "USER=postgres", "LOGNAME=postgres")
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("hatest: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// exited reports whether the process ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits up to wait for the process to end, then kills
// it.
func (p *proc) stop(sig syscall.Signal, wait time.Duration) {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(wait):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// tail is the end of the process's log, for a failure message.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// asPostgres reports whether PostgreSQL must run as the user postgres.
func asPostgres() bool { return os.Geteuid() == 0 }

func postgresUser() (uid, gid int, home string, err error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, "", fmt.Errorf("hatest: running as root needs the user postgres to run PostgreSQL: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, u.HomeDir, nil
}

// tempDir makes a directory that the user postgres owns when asPG; the
// test removes it at its end.
func tempDir(t testing.TB, prefix string, asPG bool) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if asPG {
		uid, gid, _, err := postgresUser()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitFor polls ok every 100 ms until it holds or d passes.
func waitFor(d time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Etcd is a one-member etcd.
type Etcd struct {
	// URL is its client URL, http://127.0.0.1:PORT.
	URL string
	p   *proc
}

// StartEtcd starts a one-member etcd on loopback and waits until it is
// healthy.
func StartEtcd(t testing.TB) *Etcd {
	t.Helper()
	Need(t, "etcd")
	dir := tempDir(t, "hatest-etcd-", false)
	client, peer := FreePort(t), FreePort(t)
	cu, pu := fmt.Sprintf("http://127.0.0.1:%d", client), fmt.Sprintf("http://127.0.0.1:%d", peer)
	p, err := start("etcd", filepath.Join(dir, "log"), false,
		"--name", "hatest", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
		"--initial-cluster", "hatest="+pu, "--initial-cluster-state", "new",
		"--listen-metrics-urls", fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(syscall.SIGTERM, 5*time.Second) })
	e := &Etcd{URL: cu, p: p}
	if !waitFor(30*time.Second, func() bool { return !p.exited() && httpOK(cu+"/health") }) {
		t.Fatalf("hatest: etcd did not become healthy at %s\n%s", cu, p.tail())
	}
	return e
}

// Stop stops etcd.
func (e *Etcd) Stop() { e.p.stop(syscall.SIGTERM, 5*time.Second) }

// httpOK reports whether GET url answers 200.
func httpOK(url string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// runOutput runs a program to its end and returns its output.
func runOutput(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
