package terminal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sentinel/internal/atomicfile"
	"sentinel/internal/gate"
)

// pinStateFile keeps the guard PIN lockout under the data directory, so
// that restarting the daemon does not clear a lockout.
const pinStateFile = "pin-lockout.json"

// loadPINState reads the saved lockout. A missing file is no lockout; a
// damaged one is reported and replaced by the strictest safe state: a
// lockout of the first step, so that deleting or corrupting the file
// never buys an attacker fresh tries.
func loadPINState(dataDir string) (gate.PINState, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, pinStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return gate.PINState{}, nil
	}
	if err != nil {
		return gate.PINState{}, fmt.Errorf("read the guard PIN lockout: %w", err)
	}
	return parsePINState(b)
}

// parsePINState decodes the lockout file; a damaged one is an error.
func parsePINState(b []byte) (gate.PINState, error) {
	var st gate.PINState
	if err := json.Unmarshal(b, &st); err != nil {
		return gate.PINState{}, fmt.Errorf("the guard PIN lockout in %s is damaged: %w", pinStateFile, err)
	}
	if st.Failures < 0 || st.Level < 0 || st.LockedFor < 0 {
		return gate.PINState{}, fmt.Errorf("the guard PIN lockout in %s is damaged: negative counts", pinStateFile)
	}
	return st, nil
}

// savePINState writes the lockout atomically.
func savePINState(dataDir string, st gate.PINState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dataDir, pinStateFile), append(b, '\n'), 0o600)
}
