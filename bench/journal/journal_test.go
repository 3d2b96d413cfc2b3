package journalbench

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"
	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
)

var laneCounts = []int{1, 4, 16}

func newPassage(i int) *journal.Passage {
	return &journal.Passage{
		Time: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second), ClockTrusted: true,
		Lane: fmt.Sprintf("in-%d", i%4+1), Format: credential.FormatNative, Issuer: "ZJ", KeyID: []byte{1, 2, 3, 4, 5, 6, 7, 8},
		Holder:     credential.Holder{Issuer: "ZJ", Index: uint32(100000 + i)},
		CodeColour: credential.ColourGreen, StatusColour: "green",
		Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 36600*physic.MilliKelvin,
			Ambient: physic.ZeroCelsius + 21*physic.Kelvin, Confidence: 0.9},
		Decision: passage.Admit, PolicyVersion: 7,
		Bundles: map[string]uint64{"trust": 3, "status-base": 12, "status-delta": 40, "policy": 7},
	}
}

// lanes runs b.N appends from n goroutines and reports appends/s.
func lanes(b *testing.B, n int, appendOne func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range n {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := appendOne(int(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

// BenchmarkDurableAppend runs the journal and SQLite one after the other
// for each lane count, in one run.
func BenchmarkDurableAppend(b *testing.B) {
	for _, n := range laneCounts {
		b.Run(fmt.Sprintf("store=journal/lanes=%d", n), func(b *testing.B) { benchJournal(b, n) })
		b.Run(fmt.Sprintf("store=sqlite-shared/lanes=%d", n), func(b *testing.B) { benchSQLite(b, n, 1) })
		if n > 1 {
			b.Run(fmt.Sprintf("store=sqlite-perlane/lanes=%d", n), func(b *testing.B) { benchSQLite(b, n, n) })
		}
	}
}

func benchJournal(b *testing.B, n int) {
	centre, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(b.TempDir(), journal.FileName), journal.Options{CentreKey: centre.PublicKey(), PurgeEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	ps := make([]*journal.Passage, 64)
	for i := range ps {
		ps[i] = newPassage(i)
	}
	if _, err := j.Append(context.Background(), ps[0]); err != nil {
		b.Fatal(err)
	}
	lanes(b, n, func(i int) error {
		_, err := j.Append(context.Background(), ps[i%64])
		return err
	})
}

// storedRecord returns the journal's stored bytes of a passage, so that
// SQLite writes as many bytes per passage as the journal.
func storedRecord(b *testing.B) []byte {
	j, err := journal.Open(filepath.Join(b.TempDir(), journal.FileName), journal.Options{PurgeEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	if _, err := j.Append(context.Background(), newPassage(1)); err != nil {
		b.Fatal(err)
	}
	rec, _, err := j.Tail(1)
	if err != nil {
		b.Fatal(err)
	}
	return rec[0]
}

// benchSQLite inserts one row per passage, each in its own transaction
// (autocommit), in WAL mode with synchronous=FULL: durable before the
// INSERT returns.
func benchSQLite(b *testing.B, n, conns int) {
	rec := storedRecord(b)
	dsn := "file:" + filepath.Join(b.TempDir(), "journal.sqlite") +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if _, err := db.Exec(`CREATE TABLE passages (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, lane TEXT NOT NULL, decision TEXT NOT NULL, record BLOB NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	var mode string
	var sync int
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		b.Fatalf("journal_mode: got %q (%v), want wal", mode, err)
	}
	if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		b.Fatalf("synchronous: got %d (%v), want 2 (FULL)", sync, err)
	}
	stmt, err := db.Prepare(`INSERT INTO passages (time, lane, decision, record) VALUES (?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	lanes(b, n, func(i int) error {
		_, err := stmt.Exec(int64(i), "in-1", "admit", rec)
		return err
	})
}
