package terminal

import (
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/ui"
	"sentinel/sync/journal"
)

// The guard display shows a refused or referred holder the reference of
// the passage as the journal recorded it (the enrolled device id, the
// journal's epoch, the record's seq and time), which ops look up at the
// centre; an admission, a passage not recorded and a terminal not
// enrolled show none.
func TestDisplayPassageRef(t *testing.T) {
	at := time.Date(2026, 12, 7, 13, 4, 12, 0, time.UTC)
	j, err := journal.Open(filepath.Join(t.TempDir(), journal.FileName), journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	seq, err := j.Append(t.Context(), &journal.Passage{Time: at, ClockTrusted: true, Lane: "in-1", Format: credential.FormatNative,
		Issuer: "ZJ", Decision: passage.Deny, Reasons: []string{"colour-red"}})
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{}
	s := ui.New(ui.Options{Lanes: []string{"in-1"}, Now: func() time.Time { return at }})
	defer s.Close()
	disp := uiDisplay{s: s, ref: d.passageRef(j)}
	shown := func(v gate.Shown) string {
		t.Helper()
		disp.Show(v)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://127.0.0.1:8080/state", nil)
		s.Handler().ServeHTTP(rec, req)
		var st struct {
			Lanes []struct {
				Verdict struct {
					Ref   string `json:"ref"`
					RefQR string `json:"ref_qr"`
				} `json:"verdict"`
			} `json:"lanes"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || len(st.Lanes) != 1 {
			t.Fatalf("display state %s: %v", rec.Body.Bytes(), err)
		}
		if (st.Lanes[0].Verdict.Ref == "") != (st.Lanes[0].Verdict.RefQR == "") {
			t.Errorf("reference %q shown with QR code %v: want both or neither", st.Lanes[0].Verdict.Ref, st.Lanes[0].Verdict.RefQR != "")
		}
		return st.Lanes[0].Verdict.Ref
	}
	refused := gate.Shown{Lane: "in-1", Verdict: passage.Deny, Reasons: []string{"colour-red"}, At: at, Seq: seq}
	if got := shown(refused); got != "" {
		t.Errorf("a terminal not enrolled shows reference %q, want none", got)
	}
	d.sync.Store(&syncer{device: "T-0042"})
	want := passage.NewRef("T-0042", j.Epoch(), uint64(seq), at).String()
	if got := shown(refused); got != want {
		t.Errorf("refused: shows reference %q, want %q", got, want)
	}
	referred := refused
	referred.Verdict = passage.Refer
	if got := shown(referred); got != want {
		t.Errorf("referred: shows reference %q, want %q", got, want)
	}
	for name, v := range map[string]gate.Shown{
		"admitted":     {Lane: "in-1", Verdict: passage.Admit, At: at, Seq: seq},
		"not recorded": {Lane: "in-1", Verdict: passage.Deny, Manual: true, At: at},
	} {
		if got := shown(v); got != "" {
			t.Errorf("%s: shows reference %q, want none", name, got)
		}
	}
}
