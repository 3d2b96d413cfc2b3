package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/pgstore"
)

// benchContacts fills passages server-side and times the derivation of
// the close contacts of new cases (engine.AddCases), with the plan of the
// queries it makes.
func benchContacts(args []string) error {
	fs := flag.NewFlagSet("contacts", flag.ExitOnError)
	passages := fs.Int("passages", 100_000_000, "passages stored")
	days := fs.Int("days", 14, "days the passages span, up to the cases' confirmation")
	sites := fs.Int("sites", 20_000, "sites the passages are at")
	holders := fs.Int("holders", 10_000_000, "holders the passages are of")
	cases := fs.Int("cases", 1000, "new cases")
	url := fs.String("postgres", "", "PostgreSQL connection string (default: a private server)")
	rules := fs.String("rules", "docs/rules/hubei.rules", "the rule set deployed (its contacts line is used)")
	reuse := fs.Bool("reuse", false, "the database given by -postgres holds this command's passages already: skip the fill")
	record := fs.Bool("record", true, "record the cases and contacts (AddCases) after timing the derivation alone")
	fs.Parse(args)
	ctx := context.Background()
	src, err := os.ReadFile(*rules)
	if err != nil {
		return err
	}
	rs, err := engine.Compile(*rules, src)
	if err != nil {
		return err
	}
	conn, stop, err := postgres(ctx, *url)
	if err != nil {
		return err
	}
	defer stop()
	st, err := pgstore.Open(ctx, conn, &pgstore.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	defer st.Close()
	// The cases are confirmed at the end of the passages' span, now.
	end := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	start := end.Add(-time.Duration(*days) * 24 * time.Hour)
	db, err := pgx.Connect(ctx, conn)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	if !*reuse {
		t := time.Now()
		if err := setupEngine(ctx, st, src, end); err != nil {
			return err
		}
		if _, err := db.Exec(ctx, `INSERT INTO engine_sites (id, area, name)
			SELECT 'S' || lpad(s::text, 6, '0'), (ARRAY['HB-WH-JA','HB-WH-WC','HB-YC-XL','HB-YC-WJ'])[1 + s % 4], ''
			FROM generate_series(0, $1 - 1) s`, *sites); err != nil {
			return fmt.Errorf("sites: %w", err)
		}
		if err := fillPassages(ctx, db, *passages, *sites, *holders, start, *days); err != nil {
			return err
		}
		log.Printf("filled %d passages in %v", *passages, time.Since(t).Round(time.Second))
	}
	var size string
	if err := db.QueryRow(ctx, "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'passages'::regclass").Scan(&size); err != nil {
		return err
	}
	// The cases: holders with passages, spread over the pool.
	var rows []engine.CaseRow
	step := max(1, *holders / *cases)
	for i := range *cases {
		rows = append(rows, engine.CaseRow{Holder: fmt.Sprintf("HB:%d", 1+i*step), Confirmed: end, Source: "import:bench"})
	}
	p := rs.Contacts()
	log.Printf("contacts: window %v, overlap %v, cap %d, lookback %v; passages table %s", p.Window, p.Overlap, p.Cap, p.Lookback, size)

	// The plans of the two queries Contacts makes: a case's passages by
	// holder, and the passages at a site around each of them.
	var caseAt, siteOf string
	if err := db.QueryRow(ctx, "SELECT time::text, site FROM passages WHERE holder = $1 AND decision = 'admit' ORDER BY time LIMIT 1", rows[0].Holder).Scan(&caseAt, &siteOf); err != nil {
		return fmt.Errorf("a passage of %s: %w", rows[0].Holder, err)
	}
	reach := p.Window - p.Overlap
	for _, q := range []struct {
		what string
		sql  string
		args []any
	}{
		{"a case's passages (by holder)", passagesSQL + " WHERE time >= $1 AND time < $2 AND holder = $3 ORDER BY time, device, epoch, seq",
			[]any{end.Add(-p.Lookback), end, rows[0].Holder}},
		{"the passages at a site around one of them", passagesSQL + " WHERE time >= $1::timestamptz - $3::interval AND time < $1::timestamptz + $3::interval AND site = $2 ORDER BY time, device, epoch, seq",
			[]any{caseAt, siteOf, fmt.Sprintf("%d seconds", int(reach.Seconds()))}},
	} {
		plan, err := explain(ctx, db, q.sql, q.args...)
		if err != nil {
			return err
		}
		fmt.Printf("--- EXPLAIN (ANALYZE, BUFFERS) %s\n%s\n", q.what, plan)
	}

	// The derivation alone: every case's contacts from the passages.
	t := time.Now()
	total, capped, looked := 0, 0, 0
	var per []time.Duration
	for _, row := range rows {
		t1 := time.Now()
		res, err := engine.Contacts(ctx, st, engine.Case{Holder: row.Holder, Home: "HB", At: row.Confirmed}, p, end)
		if err != nil {
			return err
		}
		per = append(per, time.Since(t1))
		total, capped, looked = total+len(res.Contacts), capped+res.Capped, looked+res.Passages
	}
	derive := time.Since(t)
	med := median(per)
	fmt.Printf("passages=%d days=%d sites=%d holders=%d cases=%d derive=%v per_case_median=%v per_case_p99=%v case_passages=%d contacts=%d capped=%d load=%q\n",
		*passages, *days, *sites, *holders, *cases, derive.Round(time.Millisecond), med.Round(time.Microsecond),
		percentile(per, 0.99).Round(time.Microsecond), looked, total, capped, loadavg())
	if *record {
		t = time.Now()
		rep, err := engine.AddCases(ctx, st, rows, true, central.ChangeBy{Time: end, By: "import:bench"}, end)
		if err != nil {
			return err
		}
		fmt.Printf("add_cases=%v cases=%d contacts_recorded=%d load=%q\n", time.Since(t).Round(time.Millisecond), rep.Cases, rep.Contacts, loadavg())
	}
	return nil
}

// passagesSQL is pgstore's query of a central.Filter with Slim set.
const passagesSQL = "SELECT device, epoch, seq, time, site, holder, decision FROM passages"

func explain(ctx context.Context, db *pgx.Conn, q string, args ...any) (string, error) {
	rows, err := db.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q, args...)
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// fillPassages writes n passages spread evenly over days days from start,
// at random sites and of random holders (95 % admitted), a day's
// partition at a time: each is filled as a table of its own, then
// attached to passages, which builds its indexes in one pass each.
func fillPassages(ctx context.Context, db *pgx.Conn, n, sites, holders int, start time.Time, days int) error {
	if _, err := db.Exec(ctx, "SELECT setseed(0.11)"); err != nil {
		return err
	}
	perDay := n / days
	for d := range days {
		from := start.Add(time.Duration(d) * 24 * time.Hour)
		to := from.Add(24 * time.Hour)
		name := "passages_p" + from.Format("20060102")
		count := perDay
		if d == days-1 {
			count = n - perDay*(days-1)
		}
		t := time.Now()
		if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (LIKE passages INCLUDING DEFAULTS)", name)); err != nil {
			return err
		}
		// A passage: site s, holder h, a lane's device of the site, a
		// second of the day; the stored record is 150 bytes, about a real
		// one's size.
		_, err := db.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (device, epoch, seq, time, site, holder, decision, reasons, stored, chain_break)
			SELECT 'T' || lpad(s::text, 6, '0') || '-' || (g %% 2), '\x000102030405060708090a0b0c0d0e0f'::bytea, $1::bigint + g,
				$2::timestamptz + (random() * 86399.0) * interval '1 second',
				'S' || lpad(s::text, 6, '0'), 'HB:' || (1 + floor(random() * $4)::int),
				CASE WHEN random() < 0.05 THEN 'refuse' ELSE 'admit' END, '{}', convert_to(repeat('x', 150), 'UTF8'), ''
			FROM (SELECT g, floor(random() * $3)::int AS s FROM generate_series(1, $5) g) x`, name),
			int64(d)*int64(perDay+1), from, sites, holders, count)
		if err != nil {
			return fmt.Errorf("fill %s: %w", name, err)
		}
		if _, err := db.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s_range CHECK (time >= '%s' AND time < '%s')",
			name, name, from.Format(time.RFC3339), to.Format(time.RFC3339))); err != nil {
			return err
		}
		if _, err := db.Exec(ctx, fmt.Sprintf("ALTER TABLE passages ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')",
			name, from.Format(time.RFC3339), to.Format(time.RFC3339))); err != nil {
			return fmt.Errorf("attach %s: %w", name, err)
		}
		// As autovacuum does to a table that only grows: the pages are
		// marked all-visible, for index-only scans.
		if _, err := db.Exec(ctx, "VACUUM (ANALYZE) "+name); err != nil {
			return err
		}
		log.Printf("day %d/%d: %d passages in %v", d+1, days, count, time.Since(t).Round(time.Second))
	}
	return nil
}
