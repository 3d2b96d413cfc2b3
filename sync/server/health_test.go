package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"sentinel/sync/protocol"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

type healthStore struct {
	mu   sync.Mutex
	got  map[string]*protocol.Health
	at   map[string]time.Time
	fail error
}

func (s *healthStore) PutHealth(_ context.Context, device string, h *protocol.Health, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got[device], s.at[device] = h, at
	return nil
}

func TestHealthHandler(t *testing.T) {
	now := time.Unix(1790000000, 0).UTC()
	good, err := protocol.EncodeHealth(&protocol.Health{Device: "t1", Time: now.Add(2 * time.Second), Last: 9, Acked: 4,
		Lanes: []protocol.LaneHealth{{Name: "camera", State: protocol.LaneMissing, Reason: "unplugged"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		device string
		body   []byte
		fail   error
		want   int
		stored bool
	}{
		{"stored", "t1", good, nil, http.StatusOK, true},
		{"no identity", "", good, nil, http.StatusUnauthorized, false},
		{"other device", "t2", good, nil, http.StatusForbidden, false},
		{"malformed", "t1", []byte{0xa0}, nil, http.StatusBadRequest, false},
		{"too large", "t1", make([]byte, protocol.MaxHealth+1), nil, http.StatusRequestEntityTooLarge, false},
		{"store down", "t1", good, errors.New("disk gone"), http.StatusServiceUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &healthStore{got: map[string]*protocol.Health{}, at: map[string]time.Time{}, fail: tt.fail}
			h, err := server.NewHealth(server.HealthOptions{Store: st, Auth: servertest.HeaderAuth{},
				Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("POST", protocol.HealthPath(protocol.Version), bytes.NewReader(tt.body))
			if tt.device != "" {
				req.Header.Set(servertest.DeviceHeader, tt.device)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status: got %d, want %d (%s)", rec.Code, tt.want, rec.Body)
			}
			b, _ := io.ReadAll(rec.Body)
			if _, err := protocol.DecodeResponse(b); err != nil {
				t.Errorf("response: %v", err)
			}
			got := st.got["t1"]
			if (got != nil) != tt.stored {
				t.Fatalf("stored: got %v, want %v", got != nil, tt.stored)
			}
			if tt.stored && (got.Backlog() != 5 || !st.at["t1"].Equal(now) || got.Lanes[0].Reason != "unplugged") {
				t.Errorf("stored %+v at %v, want backlog 5 at %v", got, st.at["t1"], now)
			}
		})
	}
}

func TestHealthRate(t *testing.T) {
	now := time.Unix(1790000000, 0)
	body, _ := protocol.EncodeHealth(&protocol.Health{Device: "t1", Time: now})
	st := &healthStore{got: map[string]*protocol.Health{}, at: map[string]time.Time{}}
	h, _ := server.NewHealth(server.HealthOptions{Store: st, Auth: servertest.HeaderAuth{}, Rate: 1, Burst: 2,
		Now: func() time.Time { return now }})
	codes := make([]int, 3)
	for i := range codes {
		req := httptest.NewRequest("POST", protocol.HealthPath(protocol.Version), bytes.NewReader(body))
		req.Header.Set(servertest.DeviceHeader, "t1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		codes[i] = rec.Code
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
		t.Errorf("got %v, want [200 200 429]", codes)
	}
}
