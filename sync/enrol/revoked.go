package enrol

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"sentinel/internal/atomicfile"
)

// Revocation is what a terminal keeps when the centre told it that it was
// revoked: it stops syncing and says so to the guard and in selftest
// until it is enrolled again.
type Revocation struct {
	Device  string    `json:"device"`
	At      time.Time `json:"at"`      // when the terminal learnt it
	Message string    `json:"message"` // the centre's words
}

// MarkRevoked records r in dataDir's RevokedFile.
func MarkRevoked(dataDir string, r Revocation) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dataDir, RevokedFile), data, 0o644); err != nil {
		return fmt.Errorf("enrol: record revocation: %w", err)
	}
	return nil
}

// Revoked returns the revocation recorded in dataDir; false when there is
// none.
func Revoked(dataDir string) (Revocation, bool, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, RevokedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Revocation{}, false, nil
	}
	if err != nil {
		return Revocation{}, false, fmt.Errorf("enrol: revocation: %w", err)
	}
	var r Revocation
	if err := json.Unmarshal(data, &r); err != nil {
		// A damaged marker still means the centre said so.
		return Revocation{Message: "the centre revoked this terminal"}, true, nil
	}
	return r, true, nil
}
