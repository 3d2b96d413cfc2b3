package server_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/cose"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

func TestMain(m *testing.M) {
	servertest.RefuseNonLoopback()
	os.Exit(m.Run())
}

const dev = "gate-1"

type fixture struct {
	srv   *httptest.Server
	store *servertest.Mem
	j     *journal.Journal
	recs  [][]byte // recs[i] is seq i+1
}

func newFixture(t *testing.T, n int, opts server.Options) *fixture {
	t.Helper()
	f := &fixture{store: servertest.NewMem(), j: servertest.Journal(t, n)}
	f.recs = servertest.Stored(t, f.j, 1, 0)
	opts.Store, opts.Auth = f.store, servertest.HeaderAuth{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rate == 0 {
		opts.Rate, opts.Burst = 1e6, 1e6
	}
	h, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// upload builds an upload of records first..last with the prev hash the
// record itself carries.
func (f *fixture) upload(t *testing.T, first, last journal.Seq) *protocol.Upload {
	t.Helper()
	rec, err := journal.DecodeRecord(f.recs[first-1])
	if err != nil {
		t.Fatal(err)
	}
	return &protocol.Upload{Device: dev, Epoch: f.j.Epoch(), First: first, Prev: rec.Prev, Records: f.recs[first-1 : last]}
}

func (f *fixture) post(t *testing.T, device string, u *protocol.Upload) (int, *protocol.Response) {
	t.Helper()
	body, err := protocol.EncodeUpload(u)
	if err != nil {
		t.Fatal(err)
	}
	return f.postBody(t, device, protocol.UploadPath(protocol.Version), body)
}

func (f *fixture) postBody(t *testing.T, device, path string, body []byte) (int, *protocol.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, bytes.NewReader(body))
	if device != "" {
		req.Header.Set(servertest.DeviceHeader, device)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Type") != protocol.ResponseType {
		return resp.StatusCode, nil
	}
	r, err := protocol.DecodeResponse(b)
	if err != nil {
		t.Fatalf("answer %d: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, r
}

// Re-uploads and overlaps are stored exactly once; a gap is refused with
// the mark.
func TestUploadExactlyOnce(t *testing.T) {
	f := newFixture(t, 300, server.Options{})
	steps := []struct {
		name        string
		first, last journal.Seq
		status      int
		hw          journal.Seq
		gap         bool
		stored      int
	}{
		{"first range", 1, 100, 200, 100, false, 100},
		{"same range again", 1, 100, 200, 100, false, 100},
		{"overlap", 51, 150, 200, 150, false, 150},
		{"inside", 10, 20, 200, 150, false, 150},
		{"gap", 152, 200, 409, 150, true, 150},
		{"resume at mark", 151, 300, 200, 300, false, 300},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			status, r := f.post(t, dev, f.upload(t, s.first, s.last))
			if status != s.status || r == nil || r.HighWater != s.hw || r.Gap != s.gap || r.Breaks != 0 {
				t.Fatalf("got %d %+v, want %d high water %d gap %v", status, r, s.status, s.hw, s.gap)
			}
			if got := f.store.Count(dev, f.j.Epoch()); got != s.stored {
				t.Fatalf("got %d records stored, want %d", got, s.stored)
			}
		})
	}
	for i, r := range f.store.Records(dev, f.j.Epoch()) {
		if !bytes.Equal(r.Stored, f.recs[i]) || r.Break != "" {
			t.Fatalf("record %d: stored bytes differ or break %q", i+1, r.Break)
		}
	}
}

// Many concurrent copies of the same uploads (a retrying terminal behind
// a load balancer) store each record once.
func TestConcurrentDuplicates(t *testing.T) {
	f := newFixture(t, 400, server.Options{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			first := journal.Seq(1 + (i%4)*100)
			for range 3 {
				f.post(t, dev, f.upload(t, 1, first+99))
			}
		})
	}
	wg.Wait()
	if got := f.store.Count(dev, f.j.Epoch()); got != 400 {
		t.Fatalf("got %d records, want 400", got)
	}
}

// tamper rewrites a record's lane, keeping it a canonical record.
func tamper(t *testing.T, stored []byte) []byte {
	t.Helper()
	var m map[any]any
	if err := cose.DecMode().Unmarshal(stored, &m); err != nil {
		t.Fatal(err)
	}
	m[uint64(7)] = "in-9"
	b, err := cose.EncMode().Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := journal.DecodeRecord(b); err != nil || r.Lane != "in-9" {
		t.Fatalf("tampered record: %v", err)
	}
	return b
}

// A chain break is stored and flagged, within an upload and across two.
func TestChainBreak(t *testing.T) {
	t.Run("within", func(t *testing.T) {
		f := newFixture(t, 10, server.Options{})
		f.recs[4] = tamper(t, f.recs[4])
		status, r := f.post(t, dev, f.upload(t, 1, 10))
		if status != 200 || r.HighWater != 10 || r.Breaks != 1 {
			t.Fatalf("got %d %+v, want 200, high water 10, 1 break", status, r)
		}
		recs := f.store.Records(dev, f.j.Epoch())
		if len(recs) != 10 || recs[5].Break != server.BreakLink {
			t.Fatalf("got %d records, break at 6 %q, want 10 and %q", len(recs), recs[5].Break, server.BreakLink)
		}
	})
	t.Run("across", func(t *testing.T) {
		f := newFixture(t, 10, server.Options{})
		f.recs[4] = tamper(t, f.recs[4])
		if status, r := f.post(t, dev, f.upload(t, 1, 5)); status != 200 || r.Breaks != 0 {
			t.Fatalf("got %d %+v, want 200 without break", status, r)
		}
		status, r := f.post(t, dev, f.upload(t, 6, 10))
		if status != 200 || r.HighWater != 10 || r.Breaks != 1 {
			t.Fatalf("got %d %+v, want 200, high water 10, 1 break", status, r)
		}
		if recs := f.store.Records(dev, f.j.Epoch()); recs[5].Break != server.BreakMark {
			t.Fatalf("got break %q at 6, want %q", recs[5].Break, server.BreakMark)
		}
	})
	t.Run("wrong prev", func(t *testing.T) {
		f := newFixture(t, 10, server.Options{})
		u := f.upload(t, 1, 10)
		u.Prev[0] ^= 1
		status, r := f.post(t, dev, u)
		if status != 200 || r.Breaks != 1 {
			t.Fatalf("got %d %+v, want 200 with 1 break", status, r)
		}
	})
}

// A batch that is not a range of the device's journal is refused whole.
func TestRefusedWhole(t *testing.T) {
	f := newFixture(t, 20, server.Options{MaxRequest: 64 << 10, MaxInflated: 1 << 20})
	good := func() *protocol.Upload { return f.upload(t, 1, 20) }
	body := func(u *protocol.Upload) []byte {
		b, err := protocol.EncodeUpload(u)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	junk := good()
	junk.Records = append([][]byte{}, junk.Records...)
	junk.Records[10] = []byte{0xa1, 0x01, 0x01}
	swapped := good()
	swapped.Records = append([][]byte{}, swapped.Records...)
	swapped.Records[3], swapped.Records[4] = swapped.Records[4], swapped.Records[3]
	shifted := good()
	shifted.First = 2
	otherEpoch := good()
	otherEpoch.Epoch[0] ^= 1
	big := make([]byte, 80<<10)
	for i := range big {
		big[i] = byte(i*7919 + i>>8)
	}
	bomb := zlibBomb(t, 2<<20)
	tests := []struct {
		name   string
		device string
		path   string
		body   []byte
		status int
		code   string
	}{
		{"garbage", dev, "", []byte("not zlib"), 400, protocol.CodeMalformed},
		{"junk record in the middle", dev, "", body(junk), 400, protocol.CodeMalformed},
		{"records out of order", dev, "", body(swapped), 400, protocol.CodeMalformed},
		{"wrong first seq", dev, "", body(shifted), 400, protocol.CodeMalformed},
		{"another epoch", dev, "", body(otherEpoch), 400, protocol.CodeMalformed},
		{"another device", "gate-2", "", body(good()), 403, protocol.CodeIdentity},
		{"no identity", "", "", body(good()), 401, protocol.CodeIdentity},
		{"oversized", dev, "", big, 413, protocol.CodeTooLarge},
		{"inflates past the limit", dev, "", bomb, 413, protocol.CodeTooLarge},
		{"unserved version path", dev, protocol.UploadPath(protocol.Version + 1), body(good()), 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = protocol.UploadPath(protocol.Version)
			}
			status, r := f.postBody(t, tc.device, path, tc.body)
			if status != tc.status {
				t.Fatalf("got status %d, want %d", status, tc.status)
			}
			if tc.code != "" && (r == nil || r.Code != tc.code || r.Message == "") {
				t.Fatalf("got answer %+v, want code %q with a message", r, tc.code)
			}
			if got := f.store.Count(dev, f.j.Epoch()) + f.store.Count("gate-2", f.j.Epoch()); got != 0 {
				t.Fatalf("got %d records stored, want 0", got)
			}
		})
	}
	if f.store.Calls() != 0 {
		t.Fatalf("got %d calls to the store, want 0", f.store.Calls())
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, 5, server.Options{Rate: 0.5, Burst: 2, Now: clock})
	want := []int{200, 200, 429}
	for i, w := range want {
		status, r := f.post(t, dev, f.upload(t, 1, 5))
		if status != w {
			t.Fatalf("request %d: got %d, want %d", i, status, w)
		}
		if w == 429 && r.Code != protocol.CodeRate {
			t.Fatalf("got code %q, want %q", r.Code, protocol.CodeRate)
		}
	}
	// Retry-After is the time to the next token: 2 s at 0.5/s.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+protocol.UploadPath(protocol.Version), nil)
	req.Header.Set(servertest.DeviceHeader, dev)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Retry-After"); resp.StatusCode != 429 || got != "2" {
		t.Fatalf("got %d Retry-After %q, want 429 and 2", resp.StatusCode, got)
	}
	if status, _ := f.post(t, "gate-2", f.upload(t, 1, 5)); status == 429 {
		t.Fatalf("another device got 429")
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if status, _ := f.post(t, dev, f.upload(t, 1, 5)); status != 200 {
		t.Fatalf("after the wait: got %d, want 200", status)
	}
}

func TestStoreOutage(t *testing.T) {
	f := newFixture(t, 5, server.Options{})
	f.store.Fail = errors.New("disk on fire")
	status, r := f.post(t, dev, f.upload(t, 1, 5))
	if status != 503 || r.Code != protocol.CodeUnavailable {
		t.Fatalf("got %d %+v, want 503 %s", status, r, protocol.CodeUnavailable)
	}
}

func TestAdmit(t *testing.T) {
	recs := func(first, n int) []server.Record {
		var out []server.Record
		for i := range n {
			out = append(out, server.Record{Seq: journal.Seq(first + i)})
		}
		return out
	}
	tests := []struct {
		name  string
		mark  journal.Seq
		first int
		n     int
		kept  int
		gap   bool
	}{
		{"empty store", 0, 1, 5, 5, false},
		{"continues", 5, 6, 5, 5, false},
		{"overlaps", 7, 6, 5, 3, false},
		{"all old", 20, 6, 5, 0, false},
		{"gap", 5, 7, 5, 0, true},
		{"gap from empty", 0, 2, 5, 0, true},
		{"salvaged gap", 5, 7, 5, 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := recs(tc.first, tc.n)
			if strings.HasPrefix(tc.name, "salvaged") {
				for i := range rs {
					rs[i].Salvaged = true
				}
			}
			kept, err := server.Admit(server.Mark{Seq: tc.mark}, rs)
			var gap *server.GapError
			if tc.gap != errors.As(err, &gap) || (tc.gap && gap.Mark != tc.mark) {
				t.Fatalf("got %v, want gap %v at %d", err, tc.gap, tc.mark)
			}
			if len(kept) != tc.kept || (tc.kept > 0 && kept[0].Seq != max(tc.mark+1, journal.Seq(tc.first))) {
				t.Fatalf("got %d kept, want %d from %d", len(kept), tc.kept, tc.mark+1)
			}
		})
	}
}

// zlibBomb is n zero bytes, zlib-compressed (about n/1000 bytes).
func zlibBomb(t *testing.T, n int) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	w.Write(make([]byte, n))
	w.Close()
	return b.Bytes()
}

// refusingStore refuses every batch as its own checks would refuse a
// record that can never be stored.
type refusingStore struct{ *servertest.Mem }

func (refusingStore) Ingest(context.Context, *server.Batch) (server.Ingested, error) {
	return server.Ingested{}, fmt.Errorf("%w: record 3 has no time", server.ErrInvalid)
}

// A batch the store can never take is refused as malformed (400), not
// answered "retry later" (503) for ever.
func TestStoreRefusesBatch(t *testing.T) {
	f := newFixture(t, 4, server.Options{})
	h, err := server.New(server.Options{Store: refusingStore{f.store}, Auth: servertest.HeaderAuth{},
		Logger: slog.New(slog.DiscardHandler), Rate: 1e6, Burst: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	code, resp := f.post(t, dev, f.upload(t, 1, 4))
	if code != http.StatusBadRequest || resp == nil || resp.Code != protocol.CodeMalformed {
		t.Fatalf("got %d %+v, want 400 %q", code, resp, protocol.CodeMalformed)
	}
}

// A salvaged range (protocol.Upload.Salvaged) that starts past the mark is
// stored with the loss flagged on its first record instead of refused as
// a gap; an unsalvaged one is still a gap; a salvaged range the centre
// already holds is kept once.
func TestSalvagedGap(t *testing.T) {
	f := newFixture(t, 20, server.Options{})
	if status, r := f.post(t, dev, f.upload(t, 1, 5)); status != 200 || r.HighWater != 5 {
		t.Fatalf("got %d %+v, want 200 up to 5", status, r)
	}
	if status, r := f.post(t, dev, f.upload(t, 9, 12)); status != http.StatusConflict || !r.Gap || r.HighWater != 5 {
		t.Fatalf("unsalvaged gap: got %d %+v, want 409 gap at 5", status, r)
	}
	u := f.upload(t, 9, 12)
	u.Salvaged = true
	status, r := f.post(t, dev, u)
	if status != 200 || r.HighWater != 12 || r.Breaks != 1 {
		t.Fatalf("salvaged gap: got %d %+v, want 200 up to 12 with 1 break", status, r)
	}
	u = f.upload(t, 1, 12)
	u.Salvaged = true
	if status, r := f.post(t, dev, u); status != 200 || r.HighWater != 12 || r.Breaks != 0 {
		t.Fatalf("salvaged range already held: got %d %+v, want 200 at 12, nothing new", status, r)
	}
	recs := f.store.Records(dev, f.j.Epoch())
	if len(recs) != 9 {
		t.Fatalf("got %d records, want 9 (1-5, 9-12)", len(recs))
	}
	want := fmt.Sprintf(server.BreakLost, 6, 8)
	for _, rec := range recs {
		if (rec.Seq == 9) != (rec.Break == want) {
			t.Errorf("seq %d: break %q, want %q only at 9", rec.Seq, rec.Break, want)
		}
	}
}
