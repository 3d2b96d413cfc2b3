package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/storetest"
)

// passageAt is one passage for contactStores.
type passageAt struct {
	holder, site string
	at           time.Time
	decision     string
}

// contactStores returns a memstore and a bbolt store holding ps, each
// device's journal in one epoch.
func contactStores(t *testing.T, ps []passageAt) map[string]central.Store {
	byDev := map[string][]central.Record{}
	for i, p := range ps {
		dev := "T-" + p.site
		byDev[dev] = append(byDev[dev], central.Record{
			Seq: uint64(len(byDev[dev]) + 1), Stored: fmt.Appendf(nil, "rec %d", i), Time: p.at,
			Site: p.site, Holder: p.holder, Decision: p.decision,
		})
	}
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"), &boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]central.Store{"memstore": memstore.New(time.Now), "boltstore": bolt}
	for _, s := range stores {
		t.Cleanup(func() { s.Close() })
		for dev, recs := range byDev {
			recs := storetest.Journal(recs)
			var epoch central.Epoch
			copy(epoch[:], dev)
			if _, err := storetest.Ingest(context.Background(), s, dev, epoch, recs); err != nil {
				t.Fatalf("ingest %s: %v", dev, err)
			}
		}
	}
	return stores
}

func TestContacts(t *testing.T) {
	confirmed := day(15, 12, 0)
	at := func(d, h, m int) time.Time { return day(d, h, m) }
	ps := []passageAt{
		// The case at the supermarket on day 10 at 10:00, and at the
		// compound's gate on day 12 at 18:00.
		{"ZJ:1", "SM", at(10, 10, 0), "admit"},
		{"ZJ:1", "GATE", at(12, 18, 0), "admit"},
		{"ZJ:1", "STN", at(11, 9, 0), "deny"}, // refused: never went in
		{"ZJ:1", "OLD", at(1, 9, 0), "admit"}, // before the lookback
		// At the supermarket: 10 minutes apart (overlap 20m), 15 apart
		// (overlap 15m, exactly enough), 16 apart (not enough), refused.
		{"ZJ:2", "SM", at(10, 10, 10), "admit"},
		{"ZJ:3", "SM", at(10, 9, 45), "admit"},
		{"ZJ:4", "SM", at(10, 10, 16), "admit"},
		{"ZJ:5", "SM", at(10, 10, 1), "deny"},
		// At the gate: one close, one the same holder twice (the longer
		// overlap counts), one at the same time at another site.
		{"ZJ:6", "GATE", at(12, 18, 5), "admit"},
		{"ZJ:2", "GATE", at(12, 18, 1), "admit"},
		{"ZJ:7", "SM", at(12, 18, 0), "admit"},
		// At the refused site and the old one: not contacts.
		{"ZJ:8", "STN", at(11, 9, 0), "admit"},
		{"ZJ:9", "OLD", at(1, 9, 0), "admit"},
		// A passage with no holder (a code that could not be read).
		{"", "SM", at(10, 10, 0), "admit"},
	}
	p := ContactParams{Window: 30 * time.Minute, Overlap: 15 * time.Minute, Cap: 10, Lookback: 14 * 24 * time.Hour}
	for name, s := range contactStores(t, ps) {
		t.Run(name, func(t *testing.T) {
			res, err := Contacts(context.Background(), s, Case{Holder: "ZJ:1", At: confirmed}, p, day(16))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range res.Contacts {
				got = append(got, fmt.Sprintf("%s@%s+%v", c.Holder, c.Site, c.Overlap))
			}
			want := []string{"ZJ:2@GATE+29m0s", "ZJ:3@SM+15m0s", "ZJ:6@GATE+25m0s"}
			if !slices.Equal(got, want) {
				t.Errorf("contacts %v, want %v", got, want)
			}
			if res.Passages != 2 || res.Capped != 0 {
				t.Errorf("passages %d, capped %d; want 2, 0", res.Passages, res.Capped)
			}
			f := res.Contacts[0].Fact()
			if f.Kind != KindContact || f.Holder != "ZJ:2" || f.Value != "ZJ:1" || f.Site != "GATE" || !f.At.Equal(at(12, 18, 1)) || f.Validate() != nil {
				t.Errorf("fact %+v", f)
			}
			// The cap keeps the longest overlaps.
			p2 := p
			p2.Cap = 2
			res, err = Contacts(context.Background(), s, Case{Holder: "ZJ:1", At: confirmed}, p2, day(16))
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, c := range res.Contacts {
				got = append(got, c.Holder)
			}
			if !slices.Equal(got, []string{"ZJ:2", "ZJ:6"}) || res.Capped != 1 {
				t.Errorf("capped at 2: %v, %d left out; want [ZJ:2 ZJ:6], 1", got, res.Capped)
			}
		})
	}
}

func TestContactsFeedRules(t *testing.T) {
	// Derived contacts become facts the Zhejiang rules make red.
	ps := []passageAt{{"ZJ:1", "SM-HZ-1", day(10, 10, 0), "admit"}, {"ZJ:2", "SM-HZ-1", day(10, 10, 5), "admit"}}
	s := contactStores(t, ps)["boltstore"]
	rs := seed(t, "zhejiang.rules")
	res, err := Contacts(context.Background(), s, Case{Holder: "ZJ:1", At: day(11)}, rs.Contacts(), day(11))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Contacts) != 1 {
		t.Fatalf("contacts %+v, want ZJ:2", res.Contacts)
	}
	r, err := rs.Evaluate(Holder{ID: "ZJ:2", Facts: []Fact{res.Contacts[0].Fact()}}, &World{Areas: testAreas(t)}, day(11))
	if err != nil {
		t.Fatal(err)
	}
	if r.Rule != "close-contact" || !r.Until.Equal(day(24, 10, 5)) {
		t.Errorf("got %s by %q until %v, want red by close-contact until %v", r.Status, r.Rule, r.Until, day(24, 10, 5))
	}
}

func TestContactsParams(t *testing.T) {
	s := memstore.New(time.Now)
	for _, p := range []ContactParams{{Window: 0, Cap: 1}, {Window: time.Minute, Overlap: 2 * time.Minute, Cap: 1}, {Window: time.Minute}} {
		if _, err := Contacts(context.Background(), s, Case{Holder: "ZJ:1", At: day(2)}, p, day(3)); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
}
