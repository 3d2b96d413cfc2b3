package enginecmd

import (
	"context"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
)

// FuzzRun feeds each command arbitrary request bytes, as the control
// socket and the operator API hand them over: a request is answered or
// refused with an error, never a panic, and a refused change leaves the
// store as it was.
func FuzzRun(f *testing.F) {
	for i, seed := range []string{
		`{"id":"ZJ","kind":"province","why":"x"}`,
		`{"id":"ZJ-HZ","level":"high","effective":"2020-02-04T00:00:00Z","why":"x"}`,
		`{"holder":"ZJ:1","site":"SM-1","why":"x"}`,
		`{"fact":1,"why":"x"}`,
		`{"cases":[{"holder":"ZJ:5","confirmed_at":"2020-02-05T00:00:00Z","home":"ZJ"}],"why":"x"}`,
		`{"file":"a.csv","csv":"holder,confirmed_at\nZJ:1,2020-02-05\n","why":"x"}`,
		`{"rules":[{"file":"a","source":"region ZJ\nversion 1\n"}]}`,
		`{"file":"a","source":"region ZJ","signed":"AAAA","why":"x"}`,
		`{"holder":"ZJ:1","lang":"zh","zone":"Asia/Shanghai"}`,
		`{"ref":"8YLT-3B84-P54Q"}`,
		`{}`, ``, `null`, `[]`, `{"at":1}`, `{"id":"ZJ"}{"id":"ZJ"}`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	now := time.Date(2020, 2, 5, 0, 0, 0, 0, time.UTC)
	cmds := Commands()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		ctx := context.Background()
		st := memstore.New(nil)
		by := central.ChangeBy{Time: now, By: "ops:seed", Why: "seed"}
		if err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
			return tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, by)
		}); err != nil {
			t.Fatal(err)
		}
		env := &Env{Store: st, StoreName: "memory", Now: func() time.Time { return now }}
		cm := cmds[int(which)%len(cmds)]
		_, err := Run(ctx, env, Caller{Name: "fuzz"}, cm.Name, body)
		if err != nil && cm.Change {
			var n int
			st.ViewEngine(ctx, func(r central.EngineReader) error {
				cs, err := r.Changes(ctx, 1, 0)
				n = len(cs)
				return err
			})
			if n != 1 {
				t.Errorf("%s refused (%v) but left %d audit records, want the seed's 1", cm.Name, err, n)
			}
		}
	})
}
