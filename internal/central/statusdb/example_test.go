package statusdb_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central/statusdb"
	"sentinel/internal/status"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "statusdb")
	defer os.RemoveAll(dir)
	db, err := statusdb.Open(filepath.Join(dir, "status.db"), 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	h, _ := credential.ParseHolder("ZJ:7")
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	err = db.Update(func(tx *statusdb.Tx) error {
		_, _, err := tx.Set(statusdb.Record{Holder: h, Status: status.Red, Effective: at, Reason: 1})
		return err
	})
	fmt.Println(err)
	db.View(func(tx *statusdb.Tx) error {
		r, ok, _ := tx.Get(h)
		fmt.Println(ok, r.Status, r.Effective.Format(time.RFC3339))
		return nil
	})
	// Output:
	// <nil>
	// true red 2026-11-29T12:00:00Z
}
