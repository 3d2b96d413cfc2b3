package syncstore_test

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"os"
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
	"sentinel/sync/server"
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

// TestRetakeWithdrawsFeverOnBranch: a terminal restored from a backup
// journals on its epoch, and the centre stores the restored copy's
// records from the fork on under a branch (twice restored: a branch of
// the branch). A guard's retake-normal override there of a fever recorded
// before the fork names the fever's sequence number in the journal, which
// the centre stores under the epoch (or the earlier branch). Before, the
// override looked for the fever under its own branch, and the fever stayed.
func TestRetakeWithdrawsFeverOnBranch(t *testing.T) {
	ctx := context.Background()
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			priv, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			opts := journal.Options{CentreKey: priv.PublicKey(), PurgeEvery: -1}
			at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
			n := 0
			appendTo := func(j *journal.Journal, ps ...*journal.Passage) {
				t.Helper()
				for _, p := range ps {
					p.Time, n = at.Add(time.Duration(n)*time.Minute), n+1
					if _, err := j.Append(ctx, p); err != nil {
						t.Fatal(err)
					}
				}
			}
			// copyOf closes the journal at path and returns it reopened
			// with a copy of it at name: the terminal's data and a backup
			// restored.
			copyOf := func(j *journal.Journal, path, name string) (*journal.Journal, *journal.Journal) {
				t.Helper()
				if err := j.Close(); err != nil {
					t.Fatal(err)
				}
				raw, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, raw, 0o600); err != nil {
					t.Fatal(err)
				}
				var out [2]*journal.Journal
				for i, p := range []string{path, p} {
					if out[i], err = journal.Open(p, opts); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { out[i].Close() })
				}
				return out[0], out[1]
			}
			fever := func(i uint32) *journal.Passage {
				return &journal.Passage{ClockTrusted: true, Lane: "in-1", Format: credential.FormatNative, Issuer: "ZJ",
					Holder:   credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: i},
					Decision: passage.Refer, Reasons: []string{"fever"},
					Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 38400*physic.MilliKelvin, Confidence: 0.9}}
			}
			admit := func(i uint32) *journal.Passage {
				p := fever(i)
				p.Decision, p.Reasons, p.Temperature = passage.Admit, []string{"ok"}, passage.Temperature{}
				return p
			}
			retake := func(i uint32, of journal.Seq) *journal.Passage {
				p := fever(i)
				p.Decision, p.Reasons = passage.Admit, []string{"guard-override"}
				p.Override = &journal.Override{Who: "guard-1", Why: "retake-normal", Of: of}
				return p
			}

			path := filepath.Join(dir, journal.FileName)
			orig, err := journal.Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			appendTo(orig, fever(1), fever(2)) // 1, 2
			orig, restored := copyOf(orig, path, "restored.db")
			appendTo(orig, admit(9))                         // 3 of the terminal's own copy
			appendTo(restored, admit(8), admit(7), fever(3)) // 3, 4, 5 of the restored copy
			restored, twice := copyOf(restored, filepath.Join(dir, "restored.db"), "twice.db")
			appendTo(restored, admit(6))                // 6
			appendTo(twice, retake(2, 2), retake(3, 5)) // 6, 7 of the copy restored twice

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
			a := syncstore.New(s, syncstore.Options{CentreKey: priv, Site: func(_ context.Context, d string) (string, error) { return "site-" + d, nil }, Fevers: true})
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
				slices.Sort(out)
				return out
			}
			// send uploads from..to of j under branch, and returns the
			// branch the centre names when it finds a fork.
			send := func(j *journal.Journal, from, to journal.Seq, branch journal.Epoch) journal.Epoch {
				t.Helper()
				b := upload(t, j, "t1", from, to, true)
				b.Branch = branch
				_, err := a.Ingest(ctx, b)
				var fe *server.ForkError
				if errors.As(err, &fe) {
					return fe.Branch
				}
				if err != nil {
					t.Fatal(err)
				}
				return journal.Epoch{}
			}
			send(orig, 1, 3, journal.Epoch{})
			b1 := send(restored, 1, 6, journal.Epoch{})
			if b1 == (journal.Epoch{}) {
				t.Fatal("the restored copy's upload: no fork")
			}
			send(restored, 3, 6, b1)
			b2 := send(twice, 3, 7, b1)
			if b2 == (journal.Epoch{}) {
				t.Fatal("the twice restored copy's upload: no fork of the branch")
			}
			if got, want := fevers(), []string{"ZJ:1", "ZJ:2", "ZJ:3"}; !slices.Equal(got, want) {
				t.Fatalf("before the overrides: fevers of %v, want %v", got, want)
			}
			send(twice, 6, 7, b2)
			if got, want := fevers(), []string{"ZJ:1"}; !slices.Equal(got, want) {
				t.Fatalf("after the overrides on the branch: fevers of %v, want %v (ZJ:2's of the epoch and ZJ:3's of the first branch withdrawn)", got, want)
			}
		})
	}
}
