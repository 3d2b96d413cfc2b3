package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/internal/central"
	"sentinel/sync/client"
	syncenrol "sentinel/sync/enrol"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server/servertest"
)

// TestUploadOtherTerminalsEpoch is issue 9 finding 6 over mutual TLS:
// terminal A, with its own valid certificate, uploaded terminal B's
// journal epoch and got 200, the records stored as A's passages. Now
// the centre answers 403 epoch-owner, stores nothing for A, logs the
// refusal, and B goes on uploading its epoch.
func TestUploadOtherTerminalsEpoch(t *testing.T) {
	var log lockedBuffer
	s, data := newLoggingServer(t, nil, &log)
	dev, _ := s.Addrs()
	url := "https://" + dev.String()
	dirA, _ := enrolOne(t, s, data)
	dirB, _ := enrolOne(t, s, data)
	idOf := func(dir string) string {
		leaf, err := syncenrol.ParseCertificatePEM(mustRead(t, filepath.Join(dir, syncenrol.CertFile)))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := syncenrol.DeviceID(leaf)
		return id
	}
	httpOf := func(dir string) *http.Client {
		cfg, err := syncenrol.ClientTLSConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		t.Cleanup(hc.CloseIdleConnections)
		return hc
	}
	a, b := idOf(dirA), idOf(dirB)
	jb := servertest.Journal(t, 20)
	cb, err := client.New(jb, client.Options{URL: url, Device: b, HTTP: httpOf(dirB)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cb.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A sends B's records under its own certificate and id.
	recs := servertest.Stored(t, jb, 1, 0)
	for _, from := range []int{0, 10} {
		rec, err := journal.DecodeRecord(recs[from])
		if err != nil {
			t.Fatal(err)
		}
		body, err := protocol.EncodeUpload(&protocol.Upload{Device: a, Epoch: jb.Epoch(), First: journal.Seq(from + 1), Prev: rec.Prev, Records: recs[from:]})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := httpOf(dirA).Post(url+protocol.UploadPath(protocol.Version), protocol.UploadType, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r, err := protocol.DecodeResponse(raw)
		if resp.StatusCode != http.StatusForbidden || err != nil || r.Code != protocol.CodeEpochOwner || !strings.Contains(r.Message, "belongs to another terminal") {
			t.Fatalf("A uploading B's epoch from %d: got %d %+v (%v), want 403 %s", from+1, resp.StatusCode, r, err, protocol.CodeEpochOwner)
		}
	}
	st := s.cfg.Store
	for p, err := range st.Passages(context.Background(), central.Filter{Device: a}) {
		t.Fatalf("a passage stored for A: %+v (%v)", p, err)
	}
	if !strings.Contains(log.String(), "another terminal's journal epoch refused") || !strings.Contains(log.String(), a) {
		t.Errorf("the refusal is not logged with the device:\n%s", log.String())
	}
	servertest.Append(t, jb, 5)
	if err := cb.Drain(context.Background()); err != nil {
		t.Fatalf("B after A's attempts: %v", err)
	}
	n := 0
	for _, err := range st.Passages(context.Background(), central.Filter{Device: b}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 25 {
		t.Fatalf("got %d passages of B, want 25", n)
	}
}
