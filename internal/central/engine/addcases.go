package engine

import (
	"context"
	"slices"
	"time"

	"sentinel/internal/central"
)

// CaseStore is what AddCases needs: the engine's part of the store and the
// passages. Every central.Store is one.
type CaseStore interface {
	central.EngineStore
	PassageSource
}

// CasesReport says what AddCases recorded.
type CasesReport struct {
	Cases    int // confirmed facts added
	Known    int // cases already confirmed at that time, left as they were
	Homes    int // home facts added
	Contacts int // contact facts added
	Capped   int // contacts left out by the rule sets' caps
	// PerCase lists each case's contact derivation.
	PerCase []ContactResult
}

// AddCases records confirmed cases and, when derive is true, derives
// their close contacts from the passages under the contact parameters of
// the rule set that judges each case (DefaultContacts where none does),
// up to now, and records them as facts. Facts already recorded (the same
// case confirmed at the same time, the same contact from the same
// passage) are not added twice, so an import can be run again. Everything
// is recorded in one transaction with its audit, or nothing.
func AddCases(ctx context.Context, st CaseStore, rows []CaseRow, derive bool, by central.ChangeBy, now time.Time) (CasesReport, error) {
	var rep CasesReport
	// The cases' own facts (their homes pick the rule sets), not every
	// holder's.
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row.Holder
	}
	var snap *Snapshot
	if err := st.ViewEngine(ctx, func(r central.EngineReader) (err error) { snap, err = LoadHolders(ctx, r, ids); return err }); err != nil {
		return rep, err
	}
	var contacts []Contact
	if derive {
		for _, row := range rows {
			home := row.Home
			if home == "" {
				home = homeOf(row.Holder, snap.Holder(row.Holder).Facts, snap.Areas, row.Confirmed)
			}
			p := DefaultContacts
			if rs, ok := snap.Deployed.For(home, snap.Areas); ok {
				p = rs.Contacts()
			}
			res, err := Contacts(ctx, st, Case{Holder: row.Holder, Home: home, At: row.Confirmed}, p, now)
			if err != nil {
				return rep, err
			}
			rep.PerCase = append(rep.PerCase, res)
			rep.Capped += res.Capped
			contacts = append(contacts, res.Contacts...)
		}
	}
	err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		rep.Cases, rep.Known, rep.Homes, rep.Contacts = 0, 0, 0, 0
		// The cases' facts as stored, read at once; the loop adds to them
		// what it records, so that a later row of the same holder sees it.
		stored, err := tx.FactsOf(ctx, ids)
		if err != nil {
			return err
		}
		facts := map[string][]Fact{}
		for _, f := range stored {
			facts[f.Holder] = append(facts[f.Holder], f)
		}
		var add []Fact
		for _, row := range rows {
			fs := facts[row.Holder]
			if slices.ContainsFunc(fs, func(f central.Fact) bool { return f.Kind == KindConfirmed && f.At.Equal(row.Confirmed) }) {
				rep.Known++
				continue
			}
			src := row.Source
			if src == "" {
				src = by.By
			}
			if row.Home != "" && homeAt(fs, row.Confirmed) != row.Home {
				h := Fact{Holder: row.Holder, Kind: KindHome, At: row.Confirmed, Area: row.Home, Source: src}
				add, fs = append(add, h), append(fs, h)
				rep.Homes++
			}
			c := Fact{Holder: row.Holder, Kind: KindConfirmed, At: row.Confirmed, Source: src}
			add, fs = append(add, c), append(fs, c)
			facts[row.Holder] = fs
			rep.Cases++
		}
		// The report counts what the store added: it leaves out a fact
		// it has already (the same home at the same time from the same
		// source), which the rows above may not see.
		added, err := tx.AddFacts(ctx, add, by)
		if err != nil {
			return err
		}
		tried := rep.Cases
		rep.Cases, rep.Homes = 0, 0
		for _, f := range added {
			switch f.Kind {
			case KindConfirmed:
				rep.Cases++
			case KindHome:
				rep.Homes++
			}
		}
		rep.Known += tried - rep.Cases
		sites, err := tx.Sites(ctx)
		if err != nil {
			return err
		}
		placed := map[string]bool{}
		for _, s := range sites {
			placed[s.ID] = true
		}
		// The contacts go in as one batch: the store skips those a holder
		// already has (the same case, from the same passage).
		fs := make([]Fact, len(contacts))
		for i, c := range contacts {
			f := c.Fact()
			if !placed[f.Site] {
				// A site ops have not placed in an area: keep the contact,
				// naming the site in its source.
				f.Site, f.Source = "", f.Source+" at "+c.Site
			}
			fs[i] = f
		}
		added, err = tx.AddFacts(ctx, fs, by)
		if err != nil {
			return err
		}
		rep.Contacts = len(added)
		return nil
	})
	return rep, err
}
