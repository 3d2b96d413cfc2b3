package journal

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func fakeDisk(used float64) func(string, *unix.Statfs_t) error {
	return func(_ string, st *unix.Statfs_t) error {
		st.Blocks = 1000
		st.Bavail = uint64((1 - used) * 1000)
		return nil
	}
}

// journalDays writes one passage per day from t0 on, for n days.
func journalDays(t *testing.T, j *Journal, n int) {
	for i := range n {
		mustAppend(t, j, testPassage(i, t0.Add(time.Duration(i)*24*time.Hour)))
	}
}

func TestPurgeRetention(t *testing.T) {
	j := openTest(t, Options{})
	j.statfs = fakeDisk(0.30)
	journalDays(t, j.Journal, 20) // records 1..20 on days 0..19
	now := t0.Add(19 * 24 * time.Hour)

	// Nothing acknowledged: nothing purged, however old.
	rep, err := j.Purge(now)
	if err != nil || rep.Deleted != 0 {
		t.Fatalf("purge before any ack: got %+v, %v; want nothing deleted", rep, err)
	}
	// Acknowledged through 10; records older than 14 days are 1..5
	// (days 0..4 before day 5).
	if err := j.Ack(j.Epoch(), 10); err != nil {
		t.Fatal(err)
	}
	rep, err = j.Purge(now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 5 || rep.Through != 5 || rep.Early {
		t.Fatalf("purge: got %+v, want 5 deleted through 5, not early", rep)
	}
	res := mustVerify(t, j)
	if res.First != 6 || res.Records != 15 || res.Anchor != 5 {
		t.Fatalf("after purge: got first %d, %d records, anchor %d; want 6, 15, 5", res.First, res.Records, res.Anchor)
	}
	// Later: everything old, but only what is acknowledged goes.
	rep, err = j.Purge(now.Add(60 * 24 * time.Hour))
	if err != nil || rep.Deleted != 5 || rep.Through != 10 {
		t.Fatalf("purge later: got %+v, %v; want 5 deleted through 10", rep, err)
	}
	// The chain still verifies after a reopen, and appends continue it.
	j.Close()
	j2, err := Open(j.path, Options{CentreKey: j.centre.PublicKey(), PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if j2.Epoch() != j.Epoch() || len(j2.Alarms()) != 0 {
		t.Fatalf("reopen after purge: epoch %s (want %s), alarms %+v", j2.Epoch(), j.Epoch(), j2.Alarms())
	}
	if s := mustAppend(t, j2, testPassage(99, now)); s != 21 {
		t.Fatalf("seq after purge and reopen: got %d, want 21", s)
	}
	if res := mustVerify(t, j2); res.First != 11 || res.Last != 21 {
		t.Fatalf("got %d..%d, want 11..21", res.First, res.Last)
	}
}

func TestPurgeEveryAcknowledged(t *testing.T) {
	// Purge everything acknowledged: the anchor carries the chain even
	// when no record is left.
	j := openTest(t, Options{Retention: time.Hour})
	j.statfs = fakeDisk(0.1)
	journalDays(t, j.Journal, 3)
	j.Ack(j.Epoch(), 3)
	if rep, err := j.Purge(t0.Add(100 * 24 * time.Hour)); err != nil || rep.Deleted != 3 {
		t.Fatalf("got %+v, %v; want 3 deleted", rep, err)
	}
	res := mustVerify(t, j)
	if res.Records != 0 || res.Last != 3 {
		t.Fatalf("got %d records, last %d; want 0, 3", res.Records, res.Last)
	}
	if s := mustAppend(t, j.Journal, testPassage(4, t0)); s != 4 {
		t.Fatalf("seq: got %d, want 4", s)
	}
	mustVerify(t, j)
}

func TestPurgeEarlyOnFullDisk(t *testing.T) {
	var raised []Alarm
	j := openTest(t, Options{OnAlarm: func(a Alarm) { raised = append(raised, a) }})
	journalDays(t, j.Journal, 6)
	now := t0.Add(6 * 24 * time.Hour) // nothing is older than 14 days
	if err := j.Ack(j.Epoch(), 4); err != nil {
		t.Fatal(err)
	}
	j.statfs = fakeDisk(0.85)
	rep, err := j.Purge(now)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Early || rep.Deleted != 4 || rep.Through != 4 {
		t.Fatalf("purge on a full disk: got %+v, want 4 acknowledged records deleted early", rep)
	}
	if a := j.Alarms(); len(a) != 1 || a[0].Kind != AlarmDisk {
		t.Fatalf("alarms: got %+v, want %s", a, AlarmDisk)
	}
	if res := mustVerify(t, j); res.First != 5 || res.Records != 2 {
		t.Fatalf("unacknowledged records: got %d from %d, want 2 from 5", res.Records, res.First)
	}
	j.statfs = fakeDisk(0.5)
	if _, err := j.Purge(now); err != nil {
		t.Fatal(err)
	}
	if a := j.Alarms(); len(a) != 0 {
		t.Fatalf("alarms after the disk emptied: got %+v, want none", a)
	}
	if len(raised) != 1 {
		t.Fatalf("OnAlarm: got %d calls, want 1", len(raised))
	}
}

func TestAck(t *testing.T) {
	j := openTest(t, Options{})
	journalDays(t, j.Journal, 3)
	tests := []struct {
		name  string
		epoch Epoch
		seq   Seq
		want  error
		acked Seq
	}{
		{"forward", j.Epoch(), 2, nil, 2},
		{"backward is ignored", j.Epoch(), 1, nil, 2},
		{"beyond the last record", j.Epoch(), 4, ErrAckAhead, 2},
		{"other epoch", Epoch{1}, 3, ErrEpoch, 2},
		{"to the end", j.Epoch(), 3, nil, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := j.Ack(tc.epoch, tc.seq); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got, _ := j.Acked(); got != tc.acked {
				t.Fatalf("acked: got %d, want %d", got, tc.acked)
			}
		})
	}
}

func TestDiskUsed(t *testing.T) {
	got, err := diskUsed(fakeDisk(0.25), ".")
	if err != nil || got < 0.249 || got > 0.251 {
		t.Fatalf("got %v, %v; want 0.25", got, err)
	}
	if _, err := diskUsed(unix.Statfs, t.TempDir()); err != nil {
		t.Fatalf("statfs of a real directory: %v", err)
	}
}

// TestSetRetention: a shorter retention set while the journal is open (the
// site's settings changed) applies to the next purge, a longer one keeps
// more; before, the retention given at Open stayed until a restart.
func TestSetRetention(t *testing.T) {
	j := openTest(t, Options{Retention: 14 * 24 * time.Hour})
	j.statfs = fakeDisk(0.30)
	journalDays(t, j.Journal, 10) // records 1..10 on days 0..9
	if err := j.Ack(j.Epoch(), 10); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(9 * 24 * time.Hour)
	if rep, err := j.Purge(now); err != nil || rep.Deleted != 0 {
		t.Fatalf("purge at 14 days: got %+v, %v; want nothing deleted", rep, err)
	}
	j.SetRetention(3 * 24 * time.Hour)
	if got := j.Retention(); got != 3*24*time.Hour {
		t.Fatalf("Retention after SetRetention(3 days): %v", got)
	}
	// Older than 3 days at day 9: days 0..5, records 1..6.
	if rep, err := j.Purge(now); err != nil || rep.Deleted != 6 || rep.Through != 6 {
		t.Fatalf("purge at 3 days: got %+v, %v; want 6 deleted through 6", rep, err)
	}
	j.SetRetention(0)
	if got := j.Retention(); got != DefaultRetention {
		t.Errorf("Retention after SetRetention(0): %v, want the default %v", got, DefaultRetention)
	}
	if rep, err := j.Purge(now); err != nil || rep.Deleted != 0 {
		t.Errorf("purge at the default again: got %+v, %v; want nothing deleted", rep, err)
	}
}
