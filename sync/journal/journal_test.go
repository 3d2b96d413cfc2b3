package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/internal/passage"

	"go.etcd.io/bbolt"
	"periph.io/x/conn/v3/physic"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func TestAppendVerifyOpen(t *testing.T) {
	j := openTest(t, Options{})
	var want []*Passage
	for i := range 40 {
		p := testPassage(i, t0.Add(time.Duration(i)*time.Second))
		want = append(want, p)
		if got := mustAppend(t, j.Journal, p); got != Seq(i+1) {
			t.Fatalf("append %d: got seq %d, want %d", i, got, i+1)
		}
	}
	res := mustVerify(t, j)
	if res.Records != 40 || res.First != 1 || res.Last != 40 || res.Epoch != j.Epoch() {
		t.Fatalf("verify: got %+v, want 40 records 1..40 of epoch %s", res, j.Epoch())
	}

	o := NewOpener(j.centre)
	keys, err := j.Keys()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: got %d, %v; want one data key", len(keys), err)
	}
	for _, k := range keys {
		if err := o.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	prev := Genesis(j.Epoch())
	err = j.Range(1, 0, func(s Seq, b []byte) error {
		r, err := DecodeRecord(b)
		if err != nil {
			return err
		}
		p := want[s-1]
		if r.Prev != prev {
			t.Errorf("record %d: prev %s, want %s", s, r.Prev, prev)
		}
		prev = Chain(prev, b)
		if !r.Time.Equal(p.Time) || r.Lane != p.Lane || r.Decision != p.Decision || r.ClockTrusted != p.ClockTrusted ||
			!reflect.DeepEqual(r.Reasons, p.Reasons) || !reflect.DeepEqual(r.Bundles, p.Bundles) ||
			!reflect.DeepEqual(r.Override, p.Override) || r.CodeColour != p.CodeColour || r.PolicyVersion != p.PolicyVersion {
			t.Errorf("record %d: got %+v, want the fields of %+v", s, r, p)
		}
		c, err := o.Open(r)
		if err != nil {
			return err
		}
		if c.Holder != p.Holder {
			t.Errorf("record %d: holder %+v, want %+v", s, c.Holder, p.Holder)
		}
		if c.Temperature != p.Temperature {
			t.Errorf("record %d: temperature %+v, want %+v", s, c.Temperature, p.Temperature)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if prev != res.Head {
		t.Errorf("head: got %s, want %s", res.Head, prev)
	}
}

// The stored bytes reveal neither the holder nor the temperature.
func TestSealedFieldsHidden(t *testing.T) {
	j := openTest(t, Options{})
	p := testPassage(1, t0)
	p.Holder.Issuer, p.Holder.Index = "HB-WH", 0x5eed1234
	mustAppend(t, j.Journal, p)
	j.Close()
	raw, err := os.ReadFile(j.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range [][]byte{[]byte("HB-WH"), {0x5e, 0xed, 0x12, 0x34}, []byte("in-2")} {
		found := bytesContains(raw, needle)
		if want := string(needle) == "in-2"; found != want {
			t.Errorf("file contains %q: got %v, want %v", needle, found, want)
		}
	}
}

func bytesContains(b, sub []byte) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return true
		}
	}
	return false
}

func TestReopenContinuesChain(t *testing.T) {
	j := openTest(t, Options{})
	for i := range 5 {
		mustAppend(t, j.Journal, testPassage(i, t0))
	}
	epoch := j.Epoch()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2, err := Open(j.path, Options{CentreKey: j.centre.PublicKey(), PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if j2.Epoch() != epoch {
		t.Fatalf("epoch after reopen: got %s, want %s", j2.Epoch(), epoch)
	}
	if len(j2.Alarms()) != 0 {
		t.Fatalf("alarms after a clean reopen: %+v", j2.Alarms())
	}
	if s := mustAppend(t, j2, testPassage(5, t0)); s != 6 {
		t.Fatalf("seq after reopen: got %d, want 6", s)
	}
	res := mustVerify(t, j2)
	if res.Records != 6 {
		t.Fatalf("records: got %d, want 6", res.Records)
	}
	// A new data key for the new process: the old clear key is gone.
	keys, _ := j2.Keys()
	if len(keys) != 2 {
		t.Fatalf("data keys after reopen: got %d, want 2", len(keys))
	}
}

func TestConcurrentLanes(t *testing.T) {
	j := openTest(t, Options{MaxBatch: 8})
	const lanes, per = 16, 40
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[Seq]bool{}
	)
	for l := range lanes {
		wg.Go(func() {
			for i := range per {
				s, err := j.Append(context.Background(), testPassage(l*per+i, t0))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[s] {
					t.Errorf("seq %d given twice", s)
				}
				seen[s] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res := mustVerify(t, j)
	if res.Records != lanes*per || len(seen) != lanes*per || res.Last != lanes*per {
		t.Fatalf("got %d records, %d seqs, last %d; want %d", res.Records, len(seen), res.Last, lanes*per)
	}
}

func TestCommitFailure(t *testing.T) {
	var alarms []Alarm
	var amu sync.Mutex
	j := openTest(t, Options{OnAlarm: func(a Alarm) { amu.Lock(); alarms = append(alarms, a); amu.Unlock() }})
	mustAppend(t, j.Journal, testPassage(0, t0))

	diskFull := errors.New("write journal.db: no space left on device")
	j.appendHook = func() error { return diskFull } // read by the committer after the send below
	_, err := j.Append(context.Background(), testPassage(1, t0))
	var ue *UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, diskFull) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("append on a full disk: got %v, want an *UnavailableError wrapping %v", err, diskFull)
	}
	if a := j.Alarms(); len(a) != 1 || a[0].Kind != AlarmCommit {
		t.Fatalf("alarms: got %+v, want %s", a, AlarmCommit)
	}
	j.appendHook = nil
	if s := mustAppend(t, j.Journal, testPassage(2, t0)); s != 2 {
		t.Fatalf("seq after a failed commit: got %d, want 2 (the failed passage has none)", s)
	}
	if a := j.Alarms(); len(a) != 0 {
		t.Fatalf("alarms after recovery: got %+v, want none", a)
	}
	res := mustVerify(t, j)
	if res.Records != 2 {
		t.Fatalf("records: got %d, want 2", res.Records)
	}
	amu.Lock()
	defer amu.Unlock()
	if len(alarms) != 1 || alarms[0].Kind != AlarmCommit {
		t.Fatalf("OnAlarm: got %+v, want one %s", alarms, AlarmCommit)
	}
}

func TestCommitFailureOnFirstKey(t *testing.T) {
	// The very first commit carries the data key; when it fails the key
	// must be written with the next one.
	j := openTest(t, Options{})
	j.appendHook = func() error { return errors.New("input/output error") }
	if _, err := j.Append(context.Background(), testPassage(0, t0)); err == nil {
		t.Fatal("append: got no error, want one")
	}
	j.appendHook = nil
	mustAppend(t, j.Journal, testPassage(1, t0))
	o := NewOpener(j.centre)
	keys, _ := j.Keys()
	for _, k := range keys {
		if err := o.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	b, _, _ := j.Tail(1)
	r, err := DecodeRecord(b[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Open(r); err != nil {
		t.Fatalf("open the record committed after a failed first commit: %v", err)
	}
}

func TestAppendAfterClose(t *testing.T) {
	j := openTest(t, Options{})
	j.Close()
	if _, err := j.Append(context.Background(), testPassage(0, t0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want %v", err, ErrClosed)
	}
}

func TestCloseDrains(t *testing.T) {
	j := openTest(t, Options{})
	var wg sync.WaitGroup
	results := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			_, err := j.Append(context.Background(), testPassage(i, t0))
			results <- err
		})
	}
	j.Close()
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrClosed):
		default:
			t.Errorf("append racing Close: %v", err)
		}
	}
	r, err := OpenReader(j.path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if res := mustVerify(t, r); res.Records != ok {
		t.Fatalf("records: got %d, want %d (every append that returned nil)", res.Records, ok)
	}
}

func TestInvalidPassage(t *testing.T) {
	long := string(make([]byte, MaxTextLen+1))
	tests := []struct {
		name string
		edit func(*Passage)
	}{
		{"no time", func(p *Passage) { p.Time = time.Time{} }},
		{"no lane", func(p *Passage) { p.Lane = "" }},
		{"bad decision", func(p *Passage) { p.Decision = "maybe" }},
		{"long issuer", func(p *Passage) { p.Issuer = long }},
		{"invalid utf8 reason", func(p *Passage) { p.Reasons = []string{"\xff"} }},
		{"too many reasons", func(p *Passage) { p.Reasons = make([]string, MaxReasons+1) }},
		{"confidence above 1", func(p *Passage) { p.Temperature.Confidence = 1.5 }},
		{"long key id", func(p *Passage) { p.KeyID = make([]byte, MaxKeyIDLen+1) }},
	}
	j := openTest(t, Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testPassage(1, t0)
			tc.edit(p)
			if _, err := j.Append(context.Background(), p); !errors.Is(err, ErrInvalidPassage) {
				t.Fatalf("got %v, want %v", err, ErrInvalidPassage)
			}
		})
	}
}

// validate names the field that is wrong, and makes no garbage for a
// valid passage: it runs for every passage before the gate opens.
func TestValidateNamesFieldWithoutGarbage(t *testing.T) {
	for field, edit := range map[string]func(*Passage){
		"lane":         func(p *Passage) { p.Lane = "\xff" },
		"override why": func(p *Passage) { p.Override = &Override{Who: "guard-1", Why: "\xff"} },
		"reason":       func(p *Passage) { p.Reasons = []string{"ok", "\xff"} },
		"bundle kind":  func(p *Passage) { p.Bundles = map[string]uint64{"\xff": 1} },
	} {
		p := testPassage(1, t0)
		edit(p)
		if err := p.validate(); !errors.Is(err, ErrInvalidPassage) || !strings.Contains(err.Error(), field+" is not valid") {
			t.Errorf("%s: got %v, want %v naming it", field, err, ErrInvalidPassage)
		}
	}
	p := testPassage(1, t0)
	p.Override = &Override{Who: "guard-1", Why: "medical"}
	if n := testing.AllocsPerRun(100, func() {
		if err := p.validate(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("validate of a valid passage: %v allocations, want 0", n)
	}
}

func TestKeyRotation(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 14, 23, 59, 0, 0, time.UTC)}
	j := openTest(t, Options{Now: clk.Now})
	mustAppend(t, j.Journal, testPassage(0, clk.t))
	mustAppend(t, j.Journal, testPassage(1, clk.t))
	clk.t = clk.t.Add(2 * time.Minute) // the next UTC day
	mustAppend(t, j.Journal, testPassage(2, clk.t))
	other := testCentre(t)
	j.SetCentreKey(other.PublicKey())
	mustAppend(t, j.Journal, testPassage(3, clk.t))

	keys, _ := j.Keys()
	if len(keys) != 3 {
		t.Fatalf("data keys: got %d, want 3 (first, new day, new centre key)", len(keys))
	}
	o1, o2 := NewOpener(j.centre), NewOpener(other)
	opened := map[string]int{}
	for _, k := range keys {
		if o1.AddKey(k) == nil {
			opened["first"]++
		}
		if o2.AddKey(k) == nil {
			opened["other"]++
		}
	}
	if opened["first"] != 2 || opened["other"] != 1 {
		t.Fatalf("keys opened: got %v, want 2 by the first centre key and 1 by the other", opened)
	}
	stored, seqs, _ := j.Tail(4)
	for i, b := range stored {
		r, err := DecodeRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		o := o1
		if seqs[i] == 4 {
			o = o2
		}
		if _, err := o.Open(r); err != nil {
			t.Errorf("record %d: %v", seqs[i], err)
		}
	}
}

func TestNotEnrolled(t *testing.T) {
	path := t.TempDir() + "/" + FileName
	j, err := Open(path, Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, testPassage(0, t0))
	keys, _ := j.Keys()
	j.Close()
	checkFile(t, path)
	if len(keys) != 1 {
		t.Fatalf("keys: got %d, want 1", len(keys))
	}
	k, err := DecodeWrappedKey(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if !k.Ephemeral {
		t.Error("data key of a terminal without a centre key: got Ephemeral false, want true")
	}
	if err := NewOpener(testCentre(t)).AddKey(keys[0]); !errors.Is(err, ErrSealed) {
		t.Fatalf("opening a throwaway-wrapped key: got %v, want %v", err, ErrSealed)
	}
}

func TestOpenerRefusesWrongKey(t *testing.T) {
	j := openTest(t, Options{})
	mustAppend(t, j.Journal, testPassage(0, t0))
	keys, _ := j.Keys()
	if err := NewOpener(testCentre(t)).AddKey(keys[0]); !errors.Is(err, ErrSealed) {
		t.Fatalf("got %v, want %v", err, ErrSealed)
	}
	b, _, _ := j.Tail(1)
	r, _ := DecodeRecord(b[0])
	if _, err := NewOpener(j.centre).Open(r); !errors.Is(err, ErrNoKey) {
		t.Fatalf("open without the data key: got %v, want %v", err, ErrNoKey)
	}
	o := NewOpener(j.centre)
	o.AddKey(keys[0])
	r.Seq++ // the AEAD binds the sealed fields to their record
	if _, err := o.Open(r); !errors.Is(err, ErrSealed) {
		t.Fatalf("open under another seq: got %v, want %v", err, ErrSealed)
	}
}

func TestRange(t *testing.T) {
	j := openTest(t, Options{})
	appendMany(t, j.Journal, 600)
	tests := []struct {
		from, to Seq
		first, n int
	}{
		{1, 0, 1, 600}, {10, 20, 10, 11}, {590, 0, 590, 11}, {257, 513, 257, 257}, {700, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d-%d", tc.from, tc.to), func(t *testing.T) {
			var got []Seq
			err := j.Range(tc.from, tc.to, func(s Seq, b []byte) error {
				if r, err := DecodeRecord(b); err != nil || r.Seq != s {
					t.Errorf("record %d: %v", s, err)
				}
				got = append(got, s)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n || (tc.n > 0 && (got[0] != Seq(tc.first) || got[len(got)-1] != Seq(tc.first+tc.n-1))) {
				t.Fatalf("got %d records from %v, want %d from %d", len(got), got[:min(len(got), 1)], tc.n, tc.first)
			}
		})
	}
}

// appendMany appends n passages from 32 lanes at once, so that they share
// commits and the test stays fast.
func appendMany(t testing.TB, j *Journal, n int) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				if _, err := j.Append(context.Background(), testPassage(i, t0)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// The file keeps written zeros past bbolt's pages (see addSlack).
func TestSlack(t *testing.T) {
	j := openTest(t, Options{})
	appendMany(t, j.Journal, 200)
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	var used int64
	j.db.View(func(tx *bbolt.Tx) error { used = tx.Size(); return nil })
	st, err := os.Stat(j.path)
	if err != nil {
		t.Fatal(err)
	}
	if slack := st.Size() - used; slack < slackMin {
		t.Fatalf("slack past bbolt's pages: got %d bytes, want at least %d", slack, slackMin)
	}
	mustVerify(t, j)
}

// The journal keeps a reading of the temperature only: of a temperature
// in any other state (which carries the thermometer's fault, and may
// carry a value the gate did not trust) it keeps that none was taken, as
// records of version 1 do, and reads it back as the zero Temperature.
func TestTemperatureNotAReading(t *testing.T) {
	j := openTest(t, Options{})
	raw := physic.ZeroCelsius + 39*physic.Celsius
	temps := []passage.Temperature{
		{State: passage.TempUnavailable, Fault: "no-answer"},
		{State: passage.TempRetake, Value: raw, Ambient: raw, Confidence: 1.5, Fault: passage.FaultUnstable},
		{State: passage.TempNotTaken},
		{State: passage.TempOK, Value: raw, Ambient: raw, Confidence: 0.5},
	}
	for i, temp := range temps {
		p := testPassage(1, t0.Add(time.Duration(i)*time.Second))
		p.Temperature = temp
		mustAppend(t, j.Journal, p)
	}
	o := NewOpener(j.centre)
	keys, err := j.Keys()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := o.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	err = j.Range(1, 0, func(s Seq, b []byte) error {
		r, err := DecodeRecord(b)
		if err != nil {
			return err
		}
		c, err := o.Open(r)
		if err != nil {
			return err
		}
		want := passage.Temperature{}
		if temps[s-1].Available() {
			want = temps[s-1]
		}
		if c.Temperature != want {
			t.Errorf("record %d of %+v: read back %+v, want %+v", s, temps[s-1], c.Temperature, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
