// Package pgtest starts a real PostgreSQL for tests: initdb into a
// temporary directory, a server on a free loopback port with its socket in
// that directory, one server per test binary, stopped when the tests end.
//
// A test package that uses it declares
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and asks for a fresh database with NewDatabase. Where PostgreSQL is not
// installed, NewDatabase skips the test loudly, or fails it when the
// environment variable CI is "true". CI installs Debian's postgresql,
// whose programs live in /usr/lib/postgresql/VERSION/bin.
//
// # Caveats
//
// PostgreSQL refuses to run as root: as root, pgtest runs initdb and
// pg_ctl as the user postgres through runuser, and hands it the temporary
// directory. The server runs with fsync off: it is for tests only.
package pgtest
