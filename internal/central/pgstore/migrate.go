package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations in order. Their names start
// with the version number: 0001_passages.sql.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number", base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].name, out[i].name, out[i].version)
		}
	}
	return out, nil
}

// migrateLock is the advisory lock that serialises migrations of servers
// starting at once.
const migrateLock = 0x53454e54 // "SENT"

// migrate applies the migrations newer than the database's schema_version
// in one transaction and returns the resulting version.
func migrate(ctx context.Context, conn *pgx.Conn, ms []migration) (int, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
		return 0, fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version int PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	var cur int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	if len(ms) > 0 && cur > ms[len(ms)-1].version {
		return cur, fmt.Errorf("migrate: the database has schema version %d, newer than this binary's %d: upgrade sentinel-central", cur, ms[len(ms)-1].version)
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return cur, fmt.Errorf("migrate: apply %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_version (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return cur, fmt.Errorf("migrate: record %s: %w", m.name, err)
		}
		cur = m.version
	}
	if err := tx.Commit(ctx); err != nil {
		return cur, fmt.Errorf("migrate: commit: %w", err)
	}
	return cur, nil
}

// checkSchema refuses a database whose schema is not the one of ms: a
// replica is read as it is, and a replica still behind a migration, or
// ahead of this binary, would answer wrongly.
func checkSchema(ctx context.Context, conn *pgx.Conn, ms []migration) error {
	var cur int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return fmt.Errorf("read the schema version (has a server opened this database?): %w", err)
	}
	if want := ms[len(ms)-1].version; cur != want {
		return fmt.Errorf("the database has schema version %d, this binary reads %d: open it read-write once with this version's serve, or use the matching sentinel-central", cur, want)
	}
	return nil
}
