package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/sweep"
	"sentinel/internal/status"
)

// The bench's world: Hubei with two cities and four districts, Jiang'an
// graded high and Xiling medium, 40 checkpoints over the districts, and
// the Hubei seed deployed.
var (
	districts = []string{"HB-WH-JA", "HB-WH-WC", "HB-YC-XL", "HB-YC-WJ"}
	areas     = []central.Area{
		{ID: "HB", Kind: central.AreaProvince}, {ID: "HB-WH", Kind: central.AreaCity, Parent: "HB"},
		{ID: "HB-YC", Kind: central.AreaCity, Parent: "HB"},
		{ID: "HB-WH-JA", Kind: central.AreaDistrict, Parent: "HB-WH"}, {ID: "HB-WH-WC", Kind: central.AreaDistrict, Parent: "HB-WH"},
		{ID: "HB-YC-XL", Kind: central.AreaDistrict, Parent: "HB-YC"}, {ID: "HB-YC-WJ", Kind: central.AreaDistrict, Parent: "HB-YC"},
	}
)

func siteID(n int) string   { return fmt.Sprintf("CP-%02d", n%40) }
func siteArea(n int) string { return districts[n%40%len(districts)] }

// setupEngine records the areas, sites, grades and the rule set.
func setupEngine(ctx context.Context, st central.EngineStore, rules []byte, t0 time.Time) error {
	by := central.ChangeBy{Time: t0.Add(-90 * 24 * time.Hour), By: "ops:bench"}
	return st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for _, a := range areas {
			if err := tx.PutArea(ctx, a, by); err != nil {
				return err
			}
		}
		for n := range 40 {
			if err := tx.PutSite(ctx, central.Site{ID: siteID(n), Area: siteArea(n)}, by); err != nil {
				return err
			}
		}
		for _, g := range []central.Grade{{Area: "HB-WH-JA", Level: central.LevelHigh, Effective: t0.Add(-60 * 24 * time.Hour)},
			{Area: "HB-YC-XL", Level: central.LevelMedium, Effective: t0.Add(-60 * 24 * time.Hour)}} {
			if err := tx.AddGrade(ctx, g, by); err != nil {
				return err
			}
		}
		_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "HB", Label: "bench", Source: rules}, by)
		return err
	})
}

// factsOf returns the facts of holder number i (every 100th has some):
// a home, and by i one of fevers (some cleared by a test), contacts, a
// confirmation, a whitelist membership, a test, over the 20 days before
// t0.
func factsOf(i int, t0 time.Time) []central.Fact {
	if i%100 != 0 {
		return nil
	}
	k := i / 100
	id := "HB:" + strconv.Itoa(i)
	at := t0.Add(-time.Duration(k*7919%(20*24)) * time.Hour) // spread over 20 days
	site := siteID(k)
	fever := func(at time.Time) central.Fact {
		return central.Fact{Holder: id, Kind: central.FactFever, At: at, Site: site, Area: siteArea(k),
			Temperature: physic.ZeroCelsius + physic.Temperature(38000+100*(k%10))*physic.MilliKelvin, Source: "passage:bench/" + strconv.Itoa(k)}
	}
	out := []central.Fact{{Holder: id, Kind: central.FactHome, At: t0.Add(-60 * 24 * time.Hour), Area: districts[k%len(districts)], Source: "ops:bench"}}
	switch k % 10 {
	case 0, 1, 2:
		out = append(out, fever(at))
	case 3:
		out = append(out, fever(at), central.Fact{Holder: id, Kind: central.FactTestNegative, At: at.Add(24 * time.Hour), Source: "import:bench"})
	case 4, 5:
		out = append(out, central.Fact{Holder: id, Kind: central.FactContact, At: at, Site: site, Area: siteArea(k), Value: "HB:7", Source: "derived:contact:bench/" + strconv.Itoa(k)})
	case 6:
		out = append(out, central.Fact{Holder: id, Kind: central.FactConfirmed, At: at, Source: "import:bench"})
	case 7:
		out = append(out, central.Fact{Holder: id, Kind: central.FactWhitelist, At: t0.Add(-30 * 24 * time.Hour), Until: t0.Add(30 * 24 * time.Hour),
			Area: "HB-WH-JA", Value: "essential", Source: "ops:bench"})
	case 8:
		out = append(out, central.Fact{Holder: id, Kind: central.FactTestNegative, At: at, Source: "import:bench"})
	default:
		out = append(out, fever(at), central.Fact{Holder: id, Kind: central.FactContact, At: at.Add(-48 * time.Hour), Site: site, Area: siteArea(k),
			Value: "HB:7", Source: "derived:contact:bench/" + strconv.Itoa(k)})
	}
	return out
}

// entryOf returns the status entry of holder number i without facts: most
// green by the engine, one in 20 a red the engine set that has lapsed,
// one in 20 green set by hand.
func entryOf(i int, t0 time.Time) (central.StatusEntry, bool) {
	if i%100 == 0 {
		return central.StatusEntry{}, false // judged by the first sweep
	}
	h := credential.Holder{Kind: credential.HolderNative, Issuer: "HB", Index: uint32(i)}
	e := central.StatusEntry{Holder: h, Status: status.Green, Effective: t0.Add(-30 * 24 * time.Hour), Source: engine.SourceEngine,
		SetAt: t0.Add(-30 * 24 * time.Hour), RuleSet: "HB #1 (bench)", Note: "no rule holds"}
	switch i % 20 {
	case 1:
		e.Status, e.Until, e.Reason, e.Note = status.Red, t0.Add(-16*24*time.Hour), byte(status.ReasonCloseContact), "rule close-contact; facts 1"
	case 2:
		e.Source, e.RuleSet, e.Note = "ops:bench", "", "cleared by hand"
	}
	return e, true
}

// lexicographic yields 1..n in the order of their decimal strings, the
// key order of the stores, so that a bbolt file is written in key order.
func lexicographic(n int, yield func(int) error) error {
	cur := 1
	for range n {
		if err := yield(cur); err != nil {
			return err
		}
		if cur*10 <= n {
			cur *= 10
			continue
		}
		if cur >= n {
			cur /= 10
		}
		cur++
		for cur%10 == 0 {
			cur /= 10
		}
	}
	return nil
}

func fillBolt(ctx context.Context, st *boltstore.Store, n int, t0 time.Time) error {
	var facts []central.Fact
	for i := 100; i <= n; i += 100 {
		facts = append(facts, factsOf(i, t0)...)
	}
	by := central.ChangeBy{Time: t0.Add(-time.Hour), By: "ops:bench"}
	for len(facts) > 0 {
		batch := facts[:min(len(facts), 50_000)]
		facts = facts[len(batch):]
		if err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
			for _, f := range batch {
				if _, err := tx.AddFact(ctx, f, by); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	log.Printf("bolt: facts recorded")
	var batch []central.StatusEntry
	flush := func() error {
		err := st.UpdateStatus(ctx, func(tx central.StatusTx) error {
			for _, e := range batch {
				if _, _, err := tx.SetStatus(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	done := 0
	err := lexicographic(n, func(i int) error {
		e, ok := entryOf(i, t0)
		if !ok {
			return nil
		}
		batch = append(batch, e)
		if len(batch) == 500_000 {
			done += len(batch)
			log.Printf("bolt: %d status entries", done)
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

func fillPostgres(ctx context.Context, url string, n int, t0 time.Time) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var rows [][]any
	for i := 100; i <= n; i += 100 {
		for _, f := range factsOf(i, t0) {
			var until any
			if !f.Until.IsZero() {
				until = f.Until
			}
			rows = append(rows, []any{f.Holder, string(f.Kind), f.At, f.Area, f.Site, f.Value, int64(f.Temperature), until, f.Source})
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"engine_facts"}, []string{"holder", "kind", "at", "area", "site", "value", "nanokelvin", "until", "source"},
		pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy facts: %w", err)
	}
	log.Printf("postgres: %d facts copied", len(rows))
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		for i < n {
			i++
			e, ok := entryOf(i, t0)
			if !ok {
				continue
			}
			var until any
			if !e.Until.IsZero() {
				until = e.Until
			}
			if i%1_000_000 == 0 {
				log.Printf("postgres: %d status entries", i)
			}
			return []any{e.Holder.String(), e.Status.String(), e.Effective, until, int16(e.Reason), e.Note, e.Source, e.RuleSet, e.SetAt}, nil
		}
		return nil, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"status_entries"}, []string{"holder", "status", "effective", "until", "reason", "note", "source", "rule_set", "set_at"}, src); err != nil {
		return fmt.Errorf("copy status entries: %w", err)
	}
	_, err = conn.Exec(ctx, "ANALYZE")
	return err
}

func benchSweep(args []string) error {
	fs := flag.NewFlagSet("sweep", flag.ExitOnError)
	storeName := fs.String("store", "bolt", "bolt or postgres")
	holders := fs.Int("holders", 10_000_000, "holders with a status entry or facts; every 100th has facts")
	runs := fs.Int("runs", 5, "daily sweeps timed after the first")
	url := fs.String("postgres", "", "PostgreSQL connection string (default: a private server)")
	dir := fs.String("dir", "", "directory for the bbolt file and bundles (default: a temporary one, removed)")
	rules := fs.String("rules", "docs/rules/hubei.rules", "the rule set deployed")
	fs.Parse(args)
	ctx := context.Background()
	src, err := os.ReadFile(*rules)
	if err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "bench-sweep-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	t0 := time.Now().UTC().Truncate(time.Hour)
	var st central.Store
	fill := time.Now()
	switch *storeName {
	case "bolt":
		b, err := boltstore.Open(filepath.Join(*dir, "central.db"), &boltstore.Options{NoSync: true})
		if err != nil {
			return err
		}
		st = b
		if err := setupEngine(ctx, b, src, t0); err != nil {
			return err
		}
		if err := fillBolt(ctx, b, *holders, t0); err != nil {
			return err
		}
		if err := b.Close(); err != nil {
			return err
		}
		// Reopened with syncing on, as serve runs it.
		if b, err = boltstore.Open(filepath.Join(*dir, "central.db"), nil); err != nil {
			return err
		}
		st = b
	case "postgres":
		conn, stop, err := postgres(ctx, *url)
		if err != nil {
			return err
		}
		defer stop()
		p, err := pgstore.Open(ctx, conn, nil)
		if err != nil {
			return err
		}
		st = p
		if err := setupEngine(ctx, p, src, t0); err != nil {
			return err
		}
		if err := fillPostgres(ctx, conn, *holders, t0); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-store %q: want bolt or postgres", *storeName)
	}
	defer st.Close()
	log.Printf("%s: %d holders filled in %v", *storeName, *holders, time.Since(fill).Round(time.Second))
	now := t0
	pub, err := signer(filepath.Join(*dir, "data"), t0)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(pub.DataDir, 0o700); err != nil {
		return err
	}
	pub.Store, pub.Now = st, func() time.Time { return now }

	// What every sweep did before: read every entry.
	start := time.Now()
	all := 0
	if err := st.ViewStatus(ctx, func(r central.StatusReader) error {
		m := map[string]central.StatusEntry{}
		for e, err := range r.Entries(ctx) {
			if err != nil {
				return err
			}
			m[e.Holder.String()] = e
		}
		all = len(m)
		return nil
	}); err != nil {
		return err
	}
	readAll := time.Since(start)
	log.Printf("reading all %d entries into a map (each sweep before): %v", all, readAll.Round(time.Millisecond))

	start = time.Now()
	if _, err := pub.PublishBase(ctx, "bench"); err != nil {
		return err
	}
	log.Printf("base published in %v", time.Since(start).Round(time.Millisecond))

	sweepAt := func(at time.Time) (sweep.Report, time.Duration, error) {
		now = at
		start := time.Now()
		rep, err := sweep.Run(ctx, st, pub, at, central.ChangeBy{Time: at, By: engine.SourceEngine, Why: "bench"})
		return rep, time.Since(start), err
	}
	rep, first, err := sweepAt(t0)
	if err != nil {
		return err
	}
	log.Printf("first sweep at %s: %v, %d changes, %d errors", t0.Format(time.DateTime), first.Round(time.Millisecond), len(rep.Changes), len(rep.Errors))
	var took []time.Duration
	var changes []int
	for k := 1; k <= *runs; k++ {
		rep, d, err := sweepAt(t0.Add(time.Duration(k) * 24 * time.Hour))
		if err != nil {
			return err
		}
		log.Printf("daily sweep %d: %v, %d changes, %d errors, load %s", k, d.Round(time.Millisecond), len(rep.Changes), len(rep.Errors), loadavg())
		took = append(took, d)
		changes = append(changes, len(rep.Changes))
	}
	fmt.Printf("store=%s holders=%d with_facts=%d first=%v daily_median=%v daily=%v changes=%v read_all_entries=%v load=%q\n",
		*storeName, *holders, *holders/100, first.Round(time.Millisecond), median(slices.Clone(took)).Round(time.Millisecond), took, changes,
		readAll.Round(time.Millisecond), loadavg())
	return nil
}
