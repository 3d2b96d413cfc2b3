package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sentinel/internal/atomicfile"
)

// movedLayout is the time in a moved-aside file's name (moveAside).
const movedLayout = "20060102T150405Z"

// PurgeMovedAside deletes, in the data directory of the journal at path,
// each file that was moved aside (path.corrupt-TIME, its .wal, see Open)
// once the centre holds everything salvaged from it (its salvage was
// renamed to .salvage.delivered, see MarkDelivered) and it was moved
// aside longer than retention before now, with its delivered salvage.
// When early (the disk is past its limit) the age does not matter, as for
// acknowledged records. A file whose salvage is still queued, or that was
// never salvaged, stays: like an unacknowledged record it holds passages
// the centre may not have. It returns the paths deleted.
func PurgeMovedAside(path string, retention time.Duration, now time.Time, early bool) ([]string, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("purge moved-aside journals: %w", err)
	}
	cutoff := now.Add(-retention)
	var (
		out  []string
		errs []error
	)
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, base+movedInfix) || !strings.HasSuffix(name, SalvageSuffix+DeliveredSuffix) {
			continue
		}
		src := strings.TrimSuffix(name, SalvageSuffix+DeliveredSuffix)
		stamp := strings.TrimPrefix(src, base+movedInfix)
		if len(stamp) < len(movedLayout) {
			continue
		}
		moved, err := time.Parse(movedLayout, stamp[:len(movedLayout)])
		if err != nil {
			continue // not a name moveAside writes: leave it to a person
		}
		if !early && !moved.Before(cutoff) {
			continue
		}
		// The moved-aside file first, then its delivered salvage: a
		// crash in between leaves the marker, which the next run
		// deletes.
		for _, p := range []string{filepath.Join(dir, src), filepath.Join(dir, name)} {
			err := os.Remove(p)
			switch {
			case err == nil:
				out = append(out, p)
			case !errors.Is(err, fs.ErrNotExist):
				errs = append(errs, fmt.Errorf("could not delete %s, a journal moved aside whose salvage the centre holds (%w): delete it by hand, or make the data directory writable for sentineld", filepath.Base(p), err))
			}
		}
	}
	if len(out) > 0 {
		if err := atomicfile.SyncDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}
