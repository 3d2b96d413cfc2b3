package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// needData refuses a command that reads the centre's state when the data
// directory it was given (or the default) does not exist: an empty answer
// such as "no terminals enrolled" would then be a lie about a directory
// that was never there. Commands that create the state (serve, devices
// add, bundles publish, status) make the directory instead.
func needData(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no centre data directory at %s: pass --data DIR, the directory that 'sentinel-central serve' and 'devices add' use", dir)
	case err != nil:
		return fmt.Errorf("--data %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("--data %s is not a directory: pass --data DIR, the directory that 'sentinel-central serve' and 'devices add' use", dir)
	}
	return nil
}
