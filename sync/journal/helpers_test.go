package journal

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
)

// centreKey makes a centre key pair for a test.
func testCentre(t testing.TB) hpke.PrivateKey {
	t.Helper()
	k, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testPassage returns the i-th passage of a deterministic stream.
func testPassage(i int, at time.Time) *Passage {
	p := &Passage{
		Time:         at,
		ClockTrusted: i%7 != 0,
		Lane:         fmt.Sprintf("in-%d", i%3+1),
		Format:       credential.FormatNative,
		Issuer:       "ZJ",
		KeyID:        []byte{1, 2, 3, byte(i)},
		Holder:       credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: uint32(100000 + i)},
		CodeColour:   credential.ColourGreen,
		StatusColour: "green",
		Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + physic.Temperature(36_500+i%10)*physic.MilliKelvin,
			Ambient: physic.ZeroCelsius + 22*physic.Kelvin, Confidence: 0.875},
		Decision:      passage.Admit,
		Reasons:       nil,
		PolicyVersion: 7,
		Bundles:       map[string]uint64{"trust": 3, "status-base": 12},
	}
	if i%5 == 0 {
		p.Decision, p.Reasons, p.CodeColour = passage.Deny, []string{"colour-red"}, credential.ColourRed
		p.Holder = credential.Holder{Kind: credential.HolderKind(2), Pseudonym: [16]byte{byte(i), 0xaa, 0x55}}
	}
	if i%11 == 0 {
		p.Decision, p.Override = passage.Refer, &Override{Who: "guard-2", Why: "retake"}
		p.Temperature = passage.Temperature{}
	}
	return p
}

type testJournal struct {
	*Journal
	path   string
	centre hpke.PrivateKey
}

// openTest opens a journal in a temporary directory; at cleanup it closes
// it (if still open) and runs bbolt's consistency check on the file.
func openTest(t testing.TB, opts Options) *testJournal {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	centre := testCentre(t)
	if opts.CentreKey == nil {
		opts.CentreKey = centre.PublicKey()
	}
	if opts.PurgeEvery == 0 {
		opts.PurgeEvery = -1
	}
	j, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	tj := &testJournal{Journal: j, path: path, centre: centre}
	t.Cleanup(func() {
		tj.Journal.Close()
		checkFile(t, path)
	})
	return tj
}

// checkFile runs bbolt's consistency check over a closed journal file.
func checkFile(t testing.TB, path string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Errorf("consistency check: open %s: %v", path, err)
		return
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("consistency check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func mustAppend(t testing.TB, j *Journal, p *Passage) Seq {
	t.Helper()
	s, err := j.Append(context.Background(), p)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return s
}

func mustVerify(t testing.TB, v interface{ Verify() (VerifyResult, error) }) VerifyResult {
	t.Helper()
	res, err := v.Verify()
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if res.Break != nil {
		t.Fatalf("verify: chain broken at %d: %s", res.Break.Seq, res.Break.Reason)
	}
	return res
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

// setCommitHook sets the hook that runs inside each checkpoint's bbolt
// commit (nil: none).
func (j *Journal) setCommitHook(f func(*bbolt.Tx) error) {
	if f == nil {
		j.commitHook.Store(nil)
		return
	}
	j.commitHook.Store(&f)
}

// walOffset is where the log's next frame goes.
func (j *Journal) walOffset() int64 {
	j.cmu.Lock()
	defer j.cmu.Unlock()
	return j.wal.off
}
