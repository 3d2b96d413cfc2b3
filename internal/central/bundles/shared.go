package bundles

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ImportedIndex is what ImportDir renames a directory's index to once the
// shared store holds its bundles: the directory is no longer read, and a
// command that would publish into it is told to publish into the store.
const ImportedIndex = IndexFile + ".imported"

// ErrMoved is returned by Open of a directory whose bundles were imported
// into a shared store.
var ErrMoved = errors.New("bundles: this data directory's bundles were moved into the database")

// ImportDir copies the repository in opts.Dir into opts.Shared when the
// shared store holds none yet, and renames the directory's index to
// ImportedIndex; it reports whether it copied. The caller holds the
// shared lock (Shared.LockBundles).
func ImportDir(ctx context.Context, opts Options) (bool, error) {
	if opts.Shared == nil || opts.Dir == "" {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, IndexFile)); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	files, _, err := opts.Shared.LoadBundles(ctx)
	if err != nil {
		return false, fmt.Errorf("bundles: import %s: %w", opts.Dir, err)
	}
	if _, ok := files[IndexFile]; ok {
		return false, nil // the store has its own: the directory is stale
	}
	local := opts
	local.Shared = nil
	repo, err := Open(local)
	if err != nil {
		return false, fmt.Errorf("bundles: import %s: %w", opts.Dir, err)
	}
	files, err = repo.Files()
	if err != nil {
		return false, fmt.Errorf("bundles: import %s: %w", opts.Dir, err)
	}
	if _, err := opts.Shared.SaveBundles(ctx, files, nil); err != nil {
		return false, fmt.Errorf("bundles: import %s: %w", opts.Dir, err)
	}
	if err := os.Rename(filepath.Join(opts.Dir, IndexFile), filepath.Join(opts.Dir, ImportedIndex)); err != nil {
		return true, fmt.Errorf("bundles: imported %s into the database, but: %w", opts.Dir, err)
	}
	return true, nil
}
