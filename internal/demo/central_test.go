package demo

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"sentinel/internal/ptytest"
	syncenrol "sentinel/sync/enrol"
)

// prepare makes a demo on free ports, or skips without pseudo-terminals.
func prepare(t *testing.T) *Demo {
	t.Helper()
	ptytest.Need(t, "the demo's serial lane")
	d, err := Prepare(Options{Dir: t.TempDir(), Now: time.Now(), Display: "127.0.0.1:0", Management: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestStartCentral(t *testing.T) {
	d := prepare(t)
	ctx := context.Background()
	c, err := d.StartCentral(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)

	if d.Config.Central.URL != c.URL || !strings.HasPrefix(c.URL, "https://127.0.0.1:") {
		t.Errorf("got Config.Central.URL %q and central URL %q, want the same https://127.0.0.1 URL", d.Config.Central.URL, c.URL)
	}
	// The terminal holds the identity enrolment issued, for the device
	// the centre recorded, on the demo's site.
	cfg, err := syncenrol.ClientTLSConfig(d.Dir)
	if err != nil {
		t.Fatalf("the terminal is not enrolled: %v", err)
	}
	if id, ok := syncenrol.DeviceID(cfg.Certificates[0].Leaf); !ok || id != c.Device {
		t.Errorf("got certificate device %q, want %q", id, c.Device)
	}
	devs, err := c.store.Enrolled(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].ID != c.Device || devs[0].Site != d.Config.Terminal.SiteID {
		t.Errorf("got enrolled devices %+v, want %s at %s", devs, c.Device, d.Config.Terminal.SiteID)
	}

	got, err := c.Received(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Passages != 0 || got.HighWater != 0 || !got.ExactlyOnce() {
		t.Errorf("got %+v before any upload, want nothing", got)
	}

	addr := strings.TrimPrefix(c.URL, "https://")
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Errorf("second close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("the centre still listens on %s after Close", addr)
	}
}

func TestStartCentralUnprepared(t *testing.T) {
	if _, err := (&Demo{}).StartCentral(context.Background(), nil); err == nil {
		t.Error("got a centre for a demo Prepare did not make, want an error")
	}
}

func TestReceivedExactlyOnce(t *testing.T) {
	tests := []struct {
		name string
		r    Received
		want bool
	}{
		{"nothing", Received{}, true},
		{"every record once", Received{Passages: 10, Unique: 10, HighWater: 10}, true},
		{"a duplicate", Received{Passages: 11, Unique: 10, HighWater: 10}, false},
		{"a gap", Received{Passages: 9, Unique: 9, HighWater: 10}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.ExactlyOnce(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
