package enginecmd_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/storetest"
)

// TestCasesAddContactOfThisSecond: cases add derives the close contacts
// from the passages up to now. It used to derive them up to its audit
// time, truncated to the second, so a passage of the very second the
// command ran (the case and a contact passing moments before) was not
// read, and the contact was missed.
func TestCasesAddContactOfThisSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := memstore.New(nil)
		defer st.Close()
		src, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "rules", "zhejiang.rules"))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC() // a whole second in the bubble
		by := central.ChangeBy{Time: t0, By: "ops:test"}
		if err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
			if err := tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, by); err != nil {
				return err
			}
			if err := tx.PutSite(ctx, central.Site{ID: "gate-1", Area: "ZJ"}, by); err != nil {
				return err
			}
			_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "2020-02-11.1", Source: src}, by)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// The case and the contact pass at .300 and .400.
		recs := storetest.Journal([]central.Record{
			{Seq: 1, Stored: []byte("case"), Time: t0.Add(300 * time.Millisecond), Site: "gate-1", Holder: "ZJ:1", Decision: "admit"},
			{Seq: 2, Stored: []byte("contact"), Time: t0.Add(400 * time.Millisecond), Site: "gate-1", Holder: "ZJ:7", Decision: "admit"},
		})
		if _, err := storetest.Ingest(ctx, st, "T-1", central.Epoch{1}, recs); err != nil {
			t.Fatal(err)
		}
		time.Sleep(700 * time.Millisecond) // ops report the case at .700
		notified := 0
		env := &enginecmd.Env{Store: st, Notify: func() { notified++ }}
		rep, err := enginecmd.CasesAdd(ctx, env, enginecmd.Caller{Name: "test"},
			enginecmd.CasesAddRequest{Cases: []enginecmd.CaseIn{{Holder: "ZJ:1", ConfirmedAt: time.Now()}}, Why: "confirmed by the lab"})
		if err != nil || rep.Cases != 1 || rep.Contacts != 1 || notified != 1 {
			t.Fatalf("cases add: %+v (%v), notified %d; want the case, its contact ZJ:7, and the event path told", rep, err, notified)
		}
	})
}
