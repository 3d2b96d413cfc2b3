package opsapi

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/appeal"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/memstore"
	"sentinel/internal/passage"
)

// refStore is a store whose passages are the ones given.
type refStore struct {
	*memstore.Store
	passages []central.Passage
}

func (s refStore) Passages(context.Context, central.Filter) iter.Seq2[central.Passage, error] {
	return func(yield func(central.Passage, error) bool) {
		for _, p := range s.passages {
			if !yield(p, nil) {
				return
			}
		}
	}
}

// TestExplainPassageRefusals: status/explain by a passage reference that
// passages of two holders share is refused 409, by one whose holder was
// not opened at ingest 404, each with appeal's words (and errors.Is
// their sentinel); before, both answered 500 and logged an error.
func TestExplainPassageRefusals(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
	epoch := central.Epoch{0xa}
	ref := passage.NewRef("T-1", epoch, 7, at)
	same := func(holder string) central.Passage {
		return central.Passage{Device: "T-1", Epoch: epoch, Record: central.Record{Seq: 7, Time: at, Holder: holder}}
	}
	for _, tt := range []struct {
		name     string
		passages []central.Passage
		is       error
		code     int
		want     string
	}{
		{"two holders", []central.Passage{same("ZJ:1"), same("ZJ:2")}, appeal.ErrAmbiguous, 409,
			"2 passages of different holders have reference " + ref.String()},
		{"not opened", []central.Passage{same("")}, appeal.ErrNotOpened, 404,
			"the holder of passage " + ref.String() + " was not opened at ingest"},
	} {
		st := refStore{memstore.New(nil), tt.passages}
		_, err := appeal.HolderOf(context.Background(), st, ref)
		if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.is.Error()) {
			t.Errorf("%s: HolderOf: %v, want %q with its words alone", tt.name, err, tt.is)
		}
		h, err := New(Options{Tokens: testTokens(t), Store: st, Audit: st, StoreName: "memory",
			Engine: &enginecmd.Env{Store: st, StoreName: "memory"}})
		if err != nil {
			t.Fatal(err)
		}
		f := engineFixture{srv: httptest.NewServer(h)}
		defer f.srv.Close()
		body, _ := json.Marshal(map[string]string{"passage": ref.String(), "lang": "en"})
		code, answer := f.call(t, opsToken, "status/explain", string(body))
		if code != tt.code || !strings.Contains(answer, tt.want) {
			t.Errorf("%s: status/explain: %d %s, want %d with %q", tt.name, code, answer, tt.code, tt.want)
		}
	}
}
