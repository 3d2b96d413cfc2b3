package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Server is a running PostgreSQL started by Start.
type Server struct {
	bin  string // directory of initdb and pg_ctl
	dir  string // temporary directory: data, socket, log
	port int
	asPG bool // run the programs as the user postgres
	n    atomic.Int64
}

// ErrNotInstalled is returned by Start when initdb or pg_ctl is missing.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed (initdb and pg_ctl not found in PATH or /usr/lib/postgresql/*/bin): install Debian's postgresql package")

// binGlob is where Debian installs PostgreSQL's programs.
var binGlob = "/usr/lib/postgresql/*/bin"

// findBin returns the directory that holds initdb and pg_ctl.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			// Resolve links such as /usr/local/bin/initdb, so that the
			// installation's other programs (pg_dump) are found beside it.
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob(binGlob)
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				return d, nil
			}
		}
	}
	return "", ErrNotInstalled
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start initialises and starts a server. The caller must Stop it.
func Start() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{bin: bin, dir: dir, asPG: os.Geteuid() == 0}
	if s.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root needs the user postgres to run the server: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	// Another process may take the free port before the server does:
	// try a few.
	for range 3 {
		if s.port, err = freePort(); err != nil {
			break
		}
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", s.port, dir)
		var out []byte
		if out, err = s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start"); err == nil {
			return s, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		err = fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	os.RemoveAll(dir)
	return nil, err
}

// Program returns the path of one of the server's client programs, such
// as pg_dump or pg_restore, from the same installation.
func (s *Server) Program(name string) string { return filepath.Join(s.bin, name) }

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, prog)
	var cmd *exec.Cmd
	if s.asPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ConnString returns the connection string of database db.
func (s *Server) ConnString(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// CreateDatabase creates a new empty database and returns its connection
// string.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	conn, err := pgx.Connect(ctx, s.ConnString("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("test_%d", s.n.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return s.ConnString(name), nil
}

// Stop stops the server at once and removes its directory.
func (s *Server) Stop() error {
	out, err := s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop")
	if rmErr := os.RemoveAll(s.dir); err == nil && rmErr != nil {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("pgtest: stop: %w\n%s", err, out)
	}
	return nil
}

// shared is the server of this test binary, started by the first
// NewDatabase and stopped by Main.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Main runs the tests and stops the shared server if a test started it.
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Shared returns the test binary's server, starting it on first use. It
// skips the test when PostgreSQL is not installed, loudly, and fails it
// when CI=true.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = Start() })
	if errors.Is(shared.err, ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: CI must install it)", shared.err)
		}
		t.Skipf("SKIPPING: %v", shared.err)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

// NewDatabase returns the connection string of a new empty database on
// the shared server.
func NewDatabase(t testing.TB) string {
	t.Helper()
	cs, err := Shared(t).CreateDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// BinDir returns the directory of PostgreSQL's programs (initdb, pg_ctl,
// postgres), for a harness that starts them through another program
// (Patroni); ErrNotInstalled when there is none.
func BinDir() (string, error) { return findBin() }
