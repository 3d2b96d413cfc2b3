package journal

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPurgeMovedAside: a journal moved aside after corruption goes, with
// its log and their delivered salvages, once the centre holds the salvage
// and the retention has passed since the move; not before, and never
// while its salvage waits for the centre.
func TestPurgeMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	clock := &fakeClock{t: t0}
	centre := testCentre(t)
	opts := Options{CentreKey: centre.PublicKey(), PurgeEvery: -1, Now: clock.Now, Retention: 14 * 24 * time.Hour}
	j, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		mustAppend(t, j, testPassage(i, t0))
	}
	j.Close()

	// Spoil it: the next open moves it aside at t0+1h.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clear(b[:2*4096])
	writeFile(t, path, b)
	clock.t = t0.Add(time.Hour)
	j, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	var moved string
	for _, a := range j.Alarms() {
		if a.Kind == AlarmCorrupt {
			moved = a.MovedTo
		}
	}
	if moved == "" {
		t.Fatalf("no corrupt alarm naming the moved-aside file: %+v", j.Alarms())
	}
	// A second moved-aside file whose salvage is still queued: it must
	// stay however old.
	pending := path + movedInfix + "20200101T000000Z"
	writeFile(t, pending, []byte("not a journal"))
	if _, err := SalvageMovedAside(path, clock.t); err != nil {
		t.Fatal(err)
	}
	if err := MarkDelivered(moved + SalvageSuffix); err != nil {
		t.Fatal(err)
	}
	j.statfs = fakeDisk(0.3)

	// Delivered, but the retention has not passed since the move.
	clock.t = t0.Add(14 * 24 * time.Hour)
	rep, err := j.Purge(clock.t)
	if err != nil || len(rep.MovedAside) != 0 {
		t.Fatalf("purge within the retention: got %v, %v; want nothing deleted", rep.MovedAside, err)
	}
	if _, err := os.Stat(moved); err != nil {
		t.Fatalf("moved-aside journal gone within the retention: %v", err)
	}

	// Past it: the moved-aside journal and its delivered salvage go.
	clock.t = t0.Add(14*24*time.Hour + time.Hour + time.Second)
	rep, err = j.Purge(clock.t)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{moved, moved + SalvageSuffix + DeliveredSuffix}
	slices.Sort(rep.MovedAside)
	slices.Sort(want)
	if !slices.Equal(rep.MovedAside, want) {
		t.Fatalf("purge past the retention deleted %v, want %v", rep.MovedAside, want)
	}
	for _, p := range want {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still there after the purge (%v)", p, err)
		}
	}
	// The undelivered one stays, with its queued salvage, as does the
	// journal in use.
	for _, p := range []string{pending, pending + SalvageSuffix, path} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s deleted: %v", p, err)
		}
	}
	// Once it is delivered too, a full disk removes it at once.
	if err := MarkDelivered(pending + SalvageSuffix); err != nil {
		t.Fatal(err)
	}
	j.statfs = fakeDisk(0.95)
	pendingRecent := path + movedInfix + clock.t.UTC().Format(movedLayout)
	if err := os.Rename(pending, pendingRecent); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(pending+SalvageSuffix+DeliveredSuffix, pendingRecent+SalvageSuffix+DeliveredSuffix); err != nil {
		t.Fatal(err)
	}
	rep, err = j.Purge(clock.t)
	if err != nil || len(rep.MovedAside) != 2 || !rep.Early {
		t.Fatalf("purge with a full disk: got %+v, %v; want the delivered moved-aside journal and its salvage deleted early", rep, err)
	}
}

// TestPurgeDiskAlarmDespiteMovedAside: when the disk is past its limit
// and a moved-aside journal cannot be deleted, Purge still raises the
// disk alarm for the records it purged early; before, the moved-aside
// file's error returned first and the guard's display never said the
// disk was full.
func TestPurgeDiskAlarmDespiteMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	clock := &fakeClock{t: t0}
	opts := Options{CentreKey: testCentre(t).PublicKey(), PurgeEvery: -1, Now: clock.Now, Retention: 14 * 24 * time.Hour}
	j, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// A delivered salvage whose moved-aside "file" cannot be removed.
	stuck := path + movedInfix + "20200101T000000Z"
	if err := os.MkdirAll(filepath.Join(stuck, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, stuck+SalvageSuffix+DeliveredSuffix, []byte("x"))
	j.statfs = fakeDisk(0.95)
	if _, err := j.Purge(clock.Now()); err == nil || !strings.Contains(err.Error(), "delete it by hand") {
		t.Fatalf("Purge: %v, want an error that says to delete the moved-aside file by hand", err)
	}
	if !slices.ContainsFunc(j.Alarms(), func(a Alarm) bool { return a.Kind == AlarmDisk }) {
		t.Errorf("no disk alarm with the disk 95%% full: %+v", j.Alarms())
	}
}
