package replay

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func key(s string) Key { return Key(sha256.Sum256([]byte(s))) }

func open(t testing.TB, path string, now time.Time, opts Options) *Memory {
	t.Helper()
	opts.Now = func() time.Time { return now }
	m, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestReserveOnce(t *testing.T) {
	m := open(t, filepath.Join(t.TempDir(), File), t0, Options{})
	a := key("a")
	if m.Used(a, t0) {
		t.Fatal("a new key is used")
	}
	if !m.Reserve(a, t0, t0.Add(time.Minute)) {
		t.Fatal("first Reserve refused")
	}
	if m.Reserve(a, t0.Add(time.Second), t0.Add(2*time.Minute)) {
		t.Error("second Reserve within the window succeeded")
	}
	if !m.Used(a, t0.Add(59*time.Second)) || m.Used(a, t0.Add(time.Minute)) {
		t.Error("Used does not follow the window")
	}
	if !m.Reserve(a, t0.Add(time.Minute), t0.Add(2*time.Minute)) {
		t.Error("Reserve after the window refused")
	}
	m.Release(a)
	if m.Used(a, t0.Add(time.Minute)) {
		t.Error("a released reservation is still used")
	}
}

// TestSurvivesRestart: committed entries are there after a reopen until
// they expire; reservations never committed are not.
func TestSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), File)
	m := open(t, path, t0, Options{})
	live, paper, lost := key("live"), key("paper"), key("lost")
	m.Reserve(live, t0, t0.Add(90*time.Second))
	m.Reserve(paper, t0, t0.Add(5*time.Minute))
	m.Reserve(lost, t0, t0.Add(5*time.Minute))
	for _, k := range []Key{live, paper} {
		if err := m.Commit(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m = open(t, path, t0.Add(time.Minute), Options{})
	if !m.Used(live, t0.Add(time.Minute)) || !m.Used(paper, t0.Add(time.Minute)) {
		t.Error("committed entries lost across a restart")
	}
	if m.Used(lost, t0.Add(time.Minute)) {
		t.Error("an uncommitted reservation survived a restart")
	}
	m.Close()

	m = open(t, path, t0.Add(2*time.Minute), Options{})
	if m.Len() != 1 || m.Used(live, t0.Add(2*time.Minute)) {
		t.Errorf("after the live window got %d entries, want only the paper one", m.Len())
	}
	m.Close()
	if fi, _ := os.Stat(path); fi.Size() != int64(len(magic)+recordSize) {
		t.Errorf("the file holds %d bytes, want the header and one record", fi.Size())
	}
}

// TestDamagedFile: a damaged file never stops the terminal; the intact
// records are kept.
func TestDamagedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, File)
	m := open(t, path, t0, Options{})
	for i := range 10 {
		k := key(string(rune('a' + i)))
		m.Reserve(k, t0, t0.Add(time.Hour))
		m.Commit(k)
	}
	m.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		b    []byte
		keep int
	}{
		"empty":          {nil, 0},
		"garbage":        {[]byte("\x00\x01not a replay memory at all, just bytes of noise"), 0},
		"torn tail":      {good[:len(good)-7], 9},
		"flipped byte":   {flip(good, len(magic)+3*recordSize+5), 9},
		"flipped header": {flip(good, 2), 0},
		"doubled":        {append(append([]byte{}, good...), good[len(magic):]...), 10},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, tt.b, 0o600); err != nil {
				t.Fatal(err)
			}
			m := open(t, p, t0, Options{})
			if m.Len() != tt.keep {
				t.Errorf("kept %d entries, want %d", m.Len(), tt.keep)
			}
			k := key("new")
			if !m.Reserve(k, t0, t0.Add(time.Hour)) || m.Commit(k) != nil {
				t.Error("the memory does not work after a damaged file")
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 0x40
	return c
}

// TestClockJumpedBack: entries expiring implausibly far ahead are dropped.
func TestClockJumpedBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), File)
	m := open(t, path, t0, Options{})
	k := key("k")
	m.Reserve(k, t0, t0.Add(time.Minute))
	m.Commit(k)
	m.Close()
	m = open(t, path, t0.Add(-48*time.Hour), Options{})
	if m.Len() != 0 {
		t.Errorf("kept %d entries from two days ahead, want 0", m.Len())
	}
}

// TestBounded: the entries and the file stay bounded however many codes
// pass.
func TestBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), File)
	m := open(t, path, t0, Options{MaxEntries: 100, NoSync: true})
	now := t0
	for i := range 20000 {
		now = now.Add(2 * time.Second)
		k := key(string(rune(i)) + "x")
		if !m.Reserve(k, now, now.Add(90*time.Second)) {
			t.Fatalf("code %d refused", i)
		}
		if err := m.Commit(k); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() > 100 {
		t.Errorf("got %d entries, want at most 100", m.Len())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if max := int64(len(magic) + recordSize*(3*100+1024)); fi.Size() > max {
		t.Errorf("the file grew to %d bytes, want at most %d", fi.Size(), max)
	}
	// When full of live entries, the one closest to expiry makes room.
	m2 := open(t, filepath.Join(t.TempDir(), File), t0, Options{MaxEntries: 2})
	m2.Reserve(key("soon"), t0, t0.Add(time.Second))
	m2.Reserve(key("late"), t0, t0.Add(time.Hour))
	m2.Reserve(key("new"), t0, t0.Add(time.Minute))
	if m2.Used(key("soon"), t0) || !m2.Used(key("late"), t0) || !m2.Used(key("new"), t0) {
		t.Error("eviction did not drop the entry closest to expiry")
	}
}

// FuzzOpen: any file content opens without error or panic, and what is
// kept lies within the window.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed")
	m, err := Open(path, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		k := key(string(rune(i)))
		m.Reserve(k, t0, t0.Add(time.Duration(i+1)*time.Minute))
		m.Commit(k)
	}
	m.Close()
	good, _ := os.ReadFile(path)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(flip(good, len(good)-3))
	f.Add([]byte{})
	f.Add(magic)
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), File)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := Open(p, Options{Now: func() time.Time { return t0 }, MaxWindow: time.Hour})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer m.Close()
		for k, e := range m.used {
			if e.until <= t0.UnixNano() || e.until > t0.Add(time.Hour).UnixNano() {
				t.Fatalf("kept %x until %v, outside the window", k, time.Unix(0, e.until))
			}
		}
	})
}

// TestUntrustedClockAtOpen: a terminal whose clock is not set yet at
// start keeps its memory instead of judging it by 1970.
func TestUntrustedClockAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), File)
	m := open(t, path, t0, Options{})
	k := key("k")
	m.Reserve(k, t0, t0.Add(time.Minute))
	m.Commit(k)
	m.Close()
	m = open(t, path, time.Time{}, Options{})
	if !m.Used(k, t0.Add(30*time.Second)) {
		t.Error("an entry was lost while the clock was not set")
	}
	if m.Used(k, t0.Add(time.Minute)) {
		t.Error("the entry outlived its time once the clock was set")
	}
}
