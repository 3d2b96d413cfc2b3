package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/status"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

var dlNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

type dlFixture struct {
	keys *bundlestest.Keys
	repo *bundles.Repo
	srv  *httptest.Server
}

func newDownload(t testing.TB, keys *bundlestest.Keys, timeKey *bundlestest.Keys) *dlFixture {
	t.Helper()
	f := &dlFixture{keys: keys}
	var err error
	f.repo, err = bundles.Open(bundles.Options{Dir: t.TempDir(), Root: keys.Root.Public(), Now: func() time.Time { return dlNow }})
	if err != nil {
		t.Fatal(err)
	}
	opts := server.DownloadOptions{Bundles: f.repo, Auth: servertest.HeaderAuth{}, Now: func() time.Time { return dlNow },
		Logger: slog.New(slog.DiscardHandler)}
	if timeKey != nil {
		opts.TimeKey, opts.TimeDelegation = timeKey.Signer, timeKey.Delegation
	}
	h, err := server.NewDownload(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *dlFixture) get(t testing.TB, path string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	req.Header.Set(servertest.DeviceHeader, "T1")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (f *dlFixture) publish(t testing.TB, k trust.Kind, payload []byte) {
	t.Helper()
	if _, err := f.repo.Publish(k, payload, f.keys.Signer, f.keys.Delegation, time.Hour, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
}

func TestDownloadBundleConditional(t *testing.T) {
	k := bundlestest.NewKeys(t, dlNow)
	f := newDownload(t, k, k)
	f.publish(t, trust.KindPolicy, bundlestest.Policy(t, "p1"))
	code, h, body := f.get(t, server.BundlePath(protocol.Version, trust.KindPolicy))
	if code != http.StatusOK {
		t.Fatalf("got %d, want 200", code)
	}
	b, _, err := trust.OpenBundle(body, k.Root.Public(), dlNow, trust.State{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("ETag"), server.ETag(b.Digest); got != want {
		t.Errorf("got ETag %s, want %s", got, want)
	}
	etag := h.Get("ETag")
	for _, tc := range []struct {
		name, path string
		hdr        []string
		want       int
	}{
		{"same etag", server.BundlePath(1, trust.KindPolicy), []string{"If-None-Match", etag}, http.StatusNotModified},
		{"one of several", server.BundlePath(1, trust.KindPolicy), []string{"If-None-Match", `"00", W/` + etag}, http.StatusNotModified},
		{"older etag", server.BundlePath(1, trust.KindPolicy), []string{"If-None-Match", `"00"`}, http.StatusOK},
		{"not published", server.BundlePath(1, trust.KindConfig), nil, http.StatusNotFound},
		{"unknown kind", "/v1/bundles/firmware", nil, http.StatusNotFound},
		{"status kind", server.BundlePath(1, trust.KindStatusBase), nil, http.StatusNotFound},
		{"no identity", server.BundlePath(1, trust.KindPolicy), []string{servertest.DeviceHeader, ""}, http.StatusUnauthorized},
		{"unserved version", server.BundlePath(protocol.Version+1, trust.KindPolicy), nil, http.StatusNotFound},
		{"bad since", "/v1/status?since=x", nil, http.StatusBadRequest},
		{"short nonce", "/v1/time?nonce=00", nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, body := f.get(t, tc.path, tc.hdr...); code != tc.want {
				t.Errorf("got %d (%s), want %d", code, body, tc.want)
			}
		})
	}
}

func TestDownloadStatusSince(t *testing.T) {
	k := bundlestest.NewKeys(t, dlNow)
	f := newDownload(t, k, k)
	if code, _, _ := f.get(t, server.StatusPath(1, 0)); code != http.StatusNotModified {
		t.Errorf("no status published: got %d, want 304", code)
	}
	f.publish(t, trust.KindStatusBase, bundlestest.StatusBase(t, dlNow, 1))
	f.publish(t, trust.KindStatusDelta, bundlestest.StatusDelta(t, dlNow, 2, status.Red))
	f.publish(t, trust.KindStatusDelta, bundlestest.StatusDelta(t, dlNow, 3, status.Red))
	for _, tc := range []struct {
		since uint64
		want  []string // kind@version
	}{
		{0, []string{"status-base@1", "status-delta@2", "status-delta@3"}},
		{1, []string{"status-delta@2", "status-delta@3"}},
		{2, []string{"status-delta@3"}},
		{3, nil},
		{7, []string{"status-base@1", "status-delta@2", "status-delta@3"}},
	} {
		code, h, body := f.get(t, server.StatusPath(1, tc.since))
		if tc.want == nil {
			if code != http.StatusNotModified {
				t.Errorf("since %d: got %d, want 304", tc.since, code)
			}
			continue
		}
		if code != http.StatusOK || h.Get("Content-Type") != server.StatusType {
			t.Fatalf("since %d: got %d %s, want 200 %s", tc.since, code, h.Get("Content-Type"), server.StatusType)
		}
		sr, err := server.DecodeStatusResponse(body)
		if err != nil {
			t.Fatalf("since %d: %v", tc.since, err)
		}
		var got []string
		for _, data := range sr.Bundles {
			b, _, err := trust.OpenBundle(data, k.Root.Public(), dlNow, trust.State{})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(b.Kind)+"@"+strconv.FormatUint(b.Version, 10))
		}
		if len(got) != len(tc.want) {
			t.Errorf("since %d: got %v, want %v", tc.since, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("since %d: got %v, want %v", tc.since, got, tc.want)
				break
			}
		}
	}
}

func TestDownloadSignedTime(t *testing.T) {
	k := bundlestest.NewKeys(t, dlNow)
	other := bundlestest.NewKeys(t, dlNow)
	onlyPolicy := &bundlestest.Keys{Root: k.Root, Signer: k.Signer}
	var err error
	onlyPolicy.Delegation, err = trust.Delegate(k.Root, k.Signer.Public(), []trust.Kind{trust.KindPolicy}, dlNow.Add(-time.Hour), dlNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	expired := &bundlestest.Keys{Root: k.Root, Signer: k.Signer}
	expired.Delegation, err = trust.Delegate(k.Root, k.Signer.Public(), trust.Kinds(), dlNow.Add(-2*time.Hour), dlNow.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	nonceA := bytes.Repeat([]byte{0xa}, 32)
	nonceB := bytes.Repeat([]byte{0xb}, 32)
	for _, tc := range []struct {
		name    string
		signer  *bundlestest.Keys
		nonce   []byte // checked against; the request carries nonceA
		revoked []trust.KeyID
		want    error
	}{
		{"fresh", k, nonceA, nil, nil},
		{"replayed for another nonce", k, nonceB, nil, server.ErrTimeNonce},
		{"another deployment", other, nonceA, nil, server.ErrTimeSigner},
		{"key not delegated for status", onlyPolicy, nonceA, nil, server.ErrTimeSigner},
		{"delegation over", expired, nonceA, nil, trust.ErrDelegationValidity},
		{"key revoked", k, nonceA, []trust.KeyID{k.Delegation.KID}, trust.ErrDelegationRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDownload(t, k, tc.signer)
			code, h, body := f.get(t, server.TimePath(1, nonceA))
			if code != http.StatusOK || h.Get("Content-Type") != server.TimeType {
				t.Fatalf("got %d %s, want 200", code, body)
			}
			got, err := server.VerifyTime(body, k.Root.Public(), tc.nonce, tc.revoked)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err == nil && !got.Equal(dlNow) {
				t.Errorf("got time %v, want %v", got, dlNow)
			}
		})
	}
	f := newDownload(t, k, nil)
	if code, _, _ := f.get(t, server.TimePath(1, nonceA)); code != http.StatusNotFound {
		t.Errorf("no time key: got %d, want 404", code)
	}
}

func FuzzDecodeStatusResponse(f *testing.F) {
	k := bundlestest.NewKeys(f, dlNow)
	d := newDownload(f, k, k)
	d.publish(f, trust.KindStatusBase, bundlestest.StatusBase(f, dlNow, 1))
	d.publish(f, trust.KindStatusDelta, bundlestest.StatusDelta(f, dlNow, 2, status.Red))
	_, _, body := d.get(f, server.StatusPath(1, 0))
	f.Add(body)
	_, _, body = d.get(f, server.StatusPath(1, 1))
	f.Add(body)
	f.Add([]byte{0xa2, 0x01, 0x01, 0x02, 0x80})
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := server.DecodeStatusResponse(b)
		if err != nil {
			if !errors.Is(err, server.ErrDownload) {
				t.Fatalf("error %v does not match ErrDownload", err)
			}
			return
		}
		re, err := server.EncodeStatusResponse(r)
		if err != nil || !bytes.Equal(re, b) {
			t.Fatalf("accepted bytes do not re-encode to themselves: %x vs %x (%v)", b, re, err)
		}
		for _, data := range r.Bundles {
			trust.OpenBundle(data, k.Root.Public(), dlNow, trust.State{}) // must not panic
		}
	})
}

func FuzzVerifyTime(f *testing.F) {
	k := bundlestest.NewKeys(f, dlNow)
	d := newDownload(f, k, k)
	nonce := bytes.Repeat([]byte{7}, 32)
	_, _, body := d.get(f, server.TimePath(1, nonce))
	f.Add(body)
	root := &bundlestest.Keys{Root: k.Root, Signer: k.Root}
	_, _, body = newDownload(f, k, root).get(f, server.TimePath(1, nonce))
	f.Add(body)
	f.Add([]byte{0xa1, 0x02, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := server.VerifyTime(b, k.Root.Public(), nonce, nil)
		if err == nil && !got.Equal(dlNow) {
			// Only the centre's key signs: anything accepted is one of
			// the seeds' signed times.
			t.Fatalf("accepted a time %v nobody signed", got)
		}
	})
}

func ExampleNewDownload() {
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	dir, _ := os.MkdirTemp("", "bundles")
	defer os.RemoveAll(dir)
	repo, err := bundles.Open(bundles.Options{Dir: dir, Root: root.Public()})
	if err != nil {
		log.Fatal(err)
	}
	h, err := server.NewDownload(server.DownloadOptions{
		Bundles: repo,
		Auth:    servertest.HeaderAuth{}, // production: the TLS client certificate
		TimeKey: root,                    // production: the online key, with TimeDelegation
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/", h)
	fmt.Println(server.BundlePath(1, trust.KindPolicy))
	// Output: /v1/bundles/policy
}
