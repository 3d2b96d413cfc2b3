package main

import (
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
