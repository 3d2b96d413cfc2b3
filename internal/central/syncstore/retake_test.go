package syncstore_test

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/syncstore"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
)

// TestRetakeWithdrawsFever: a guard who re-measures a referred person with
// a clinical thermometer, reads normal and overrides with retake-normal
// withdraws the gate's fever. Before, the fever stayed a fact and the
// engine turned the holder red. Now: an override in the same upload as its
// fever keeps nothing; one in a later upload removes the fever kept
// (audited) and calls the hook, so the engine judges the holder again; a
// wrong PIN, or an override for another reason, withdraws nothing; a
// replay changes nothing.
func TestRetakeWithdrawsFever(t *testing.T) {
	ctx := context.Background()
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			priv, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			j, err := journal.Open(filepath.Join(t.TempDir(), journal.FileName), journal.Options{CentreKey: priv.PublicKey(), PurgeEvery: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
			holder := func(i uint32) credential.Holder {
				return credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: i}
			}
			fever := func(i uint32) *journal.Passage {
				return &journal.Passage{ClockTrusted: true, Lane: "in-1", Format: credential.FormatNative, Issuer: "ZJ", Holder: holder(i),
					Decision: passage.Refer, Reasons: []string{"fever"},
					Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 38400*physic.MilliKelvin, Confidence: 0.9}}
			}
			// The gate's override copies the passage, admits, and names the
			// guard; a wrong PIN copies nobody and refuses.
			override := func(i uint32, why string, of journal.Seq) *journal.Passage {
				p := fever(i)
				p.Decision, p.Reasons = passage.Admit, []string{"guard-override"}
				p.Override = &journal.Override{Who: "guard-1", Why: why, Of: of}
				return p
			}
			wrongPIN := &journal.Passage{ClockTrusted: true, Lane: "in-1", Decision: passage.Deny, Reasons: []string{"wrong-pin"},
				Override: &journal.Override{Why: "retake-normal", Of: 3}}
			for i, p := range []*journal.Passage{
				fever(1), override(1, "retake-normal", 1), // 1, 2: the same upload
				fever(2),                                     // 3: kept, then withdrawn by 5
				wrongPIN,                                     // 4
				override(2, "retake-normal", 3),              // 5
				fever(3), override(3, "document-checked", 6), // 6, 7: stays
			} {
				p.Time = at.Add(time.Duration(i) * time.Minute)
				if _, err := j.Append(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			s := st.open(t)
			if err := s.UpdateEngine(ctx, func(tx central.EngineTx) error {
				by := central.ChangeBy{Time: at, By: "ops:test"}
				if err := tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, by); err != nil {
					return err
				}
				return tx.PutSite(ctx, central.Site{ID: "site-t1", Area: "ZJ"}, by)
			}); err != nil {
				t.Fatal(err)
			}
			var heard []string
			a := syncstore.New(s, syncstore.Options{CentreKey: priv, Site: func(_ context.Context, d string) (string, error) { return "site-" + d, nil }, Fevers: true,
				OnFever: func(f central.Fact) { heard = append(heard, f.Holder) }})
			fevers := func() []string {
				t.Helper()
				var out []string
				if err := s.ViewEngine(ctx, func(r central.EngineReader) error {
					all, err := r.AllFacts(ctx)
					for _, f := range all {
						if f.Kind == central.FactFever {
							out = append(out, f.Holder)
						}
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return out
			}
			ingest := func(from, to journal.Seq) {
				t.Helper()
				if _, err := a.Ingest(ctx, upload(t, j, "t1", from, to, from == 1)); err != nil {
					t.Fatal(err)
				}
			}
			ingest(1, 3)
			if got := fevers(); !slices.Equal(got, []string{"ZJ:2"}) || !slices.Equal(heard, []string{"ZJ:2"}) {
				t.Fatalf("after records 1-3: fevers of %v, hook heard %v; want ZJ:2's only (ZJ:1's was overridden in the same upload)", got, heard)
			}
			ingest(4, 7)
			if got := fevers(); !slices.Equal(got, []string{"ZJ:3"}) || !slices.Equal(heard, []string{"ZJ:2", "ZJ:3", "ZJ:2"}) {
				t.Fatalf("after records 4-7: fevers of %v, hook heard %v; want ZJ:3's only, ZJ:2's withdrawn (heard), ZJ:3's kept (heard)", got, heard)
			}
			ingest(1, 7) // a replay
			if got := fevers(); !slices.Equal(got, []string{"ZJ:3"}) || len(heard) != 3 {
				t.Fatalf("after a replay: fevers of %v, hook heard %v; want no change", got, heard)
			}
			err = s.ViewEngine(ctx, func(r central.EngineReader) error {
				changes, err := r.Changes(ctx, 1, 0)
				for _, c := range changes {
					if c.Action == central.ChangeFactRemove {
						if c.Subject != "ZJ:2" || c.By != "ingest:t1" || c.Why == "" {
							t.Errorf("the withdrawal's audit record: %+v, want ZJ:2's fact removed by ingest:t1 with why", c)
						}
						return err
					}
				}
				t.Errorf("no audit record of the withdrawal in %+v", changes)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
