package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/internal/gate"
)

func TestPINStateFile(t *testing.T) {
	dir := t.TempDir()
	if st, err := loadPINState(dir); err != nil || st != (gate.PINState{}) {
		t.Fatalf("no file: got %+v, %v; want no lockout", st, err)
	}
	want := gate.PINState{Failures: 2, Level: 3, LastFailure: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC),
		LockedUntil: time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC), LockedFor: 30 * time.Minute}
	if err := savePINState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadPINState(dir)
	if err != nil || !got.LockedUntil.Equal(want.LockedUntil) || !got.LastFailure.Equal(want.LastFailure) ||
		got.Failures != 2 || got.Level != 3 || got.LockedFor != want.LockedFor {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"{", `{"failures":-1}`, "[]"} {
		os.WriteFile(filepath.Join(dir, pinStateFile), []byte(bad), 0o600)
		if _, err := loadPINState(dir); err == nil {
			t.Errorf("damaged file %q: got no error", bad)
		}
	}
}

// TestPINLockoutSurvivesRestart starts the daemon on a data directory
// whose last run locked overrides (the file TestDaemon shows it writes):
// the lockout holds for what remains of it, and a damaged file starts
// locked for the first step (issue 9: a restart cleared the lockout).
func TestPINLockoutSurvivesRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		file func(now time.Time) []byte
		want time.Duration
	}{
		{"saved lockout", func(now time.Time) []byte {
			b, _ := json.Marshal(gate.PINState{Level: 2, LastFailure: now.Add(-time.Minute),
				LockedUntil: now.Add(4 * time.Minute), LockedFor: 5 * time.Minute})
			return b
		}, 4 * time.Minute},
		{"damaged file", func(time.Time) []byte { return []byte("{\"level\":") }, gate.PINLockouts[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, pinStateFile), tc.file(time.Now()), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			d := syncDaemon(t, dir, "https://127.0.0.1:9", &logs)
			runDaemon(t, d, &logs)
			_, err := d.gate.Override(context.Background(), "in-1", "135790", gate.OverrideRetakeNormal)
			var le *gate.LockedError
			if !errors.As(err, &le) || le.Wait > tc.want || le.Wait < tc.want-time.Minute {
				t.Fatalf("override after the restart: got %v, want locked for about %s", err, tc.want)
			}
		})
	}
}

// FuzzParsePINState: a damaged lockout file is an error, never a panic nor
// a state that unlocks (negative counts or lengths).
func FuzzParsePINState(f *testing.F) {
	f.Add([]byte(`{"failures":2,"level":3,"last_failure":"2026-12-07T09:00:00Z","locked_until":"2026-12-07T09:30:00Z","locked_for":1800000000000}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"level":`))
	f.Add([]byte(`{"failures":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parsePINState(b)
		if err != nil {
			return
		}
		if st.Failures < 0 || st.Level < 0 || st.LockedFor < 0 {
			t.Fatalf("accepted %+v from %q", st, b)
		}
	})
}
