package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"sentinel/internal/central"
)

// The status record of the releases before statuses moved into the
// central store: a bbolt file of its own in the data directory.
const (
	// LegacyStatusFile is its name in the data directory.
	LegacyStatusFile = "status.db"
	// ImportedSuffix is added to its name once it is imported.
	ImportedSuffix = ".imported"
)

var (
	legacyEntries = []byte("entries")
	legacyRevoked = []byte("revoked")
	legacyMeta    = []byte("meta")
	legacyVersion = []byte("version")
)

// Imported says what ImportLegacyStatus found and what it kept.
type Imported struct {
	// From is the file imported; empty when there was none.
	From string
	// Entries and Revocations count what the file held; Kept counts
	// those of its entries the store already had in a later form, which
	// stay as they are.
	Entries, Revocations, Kept int
	// Version is the status version the store holds after the import.
	Version uint64
}

// ImportLegacyStatus imports the former status record of the data
// directory dataDir (LegacyStatusFile) into the status part of st, once:
// in one transaction of st it adds every entry the store does not hold in
// a later change (by the change's time), every revocation the store does
// not hold, and raises the status version to the file's when that is
// higher; then it renames the file with ImportedSuffix, so that the next
// start imports nothing. Nothing the store holds is lost, and running it
// again after a crash between the transaction and the rename imports the
// same again. Without the file it does nothing. A file that another
// process holds, or that does not decode, is refused whole with an error
// that says so, and stays where it is.
func ImportLegacyStatus(ctx context.Context, dataDir string, st central.StatusStore) (Imported, error) {
	path := filepath.Join(dataDir, LegacyStatusFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return Imported{}, nil
	}
	imp := Imported{From: path}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if errors.Is(err, bberrors.ErrTimeout) {
		return imp, fmt.Errorf("import the former status record %s: another process holds it (an older sentinel-central?): stop it and retry: %w", path, err)
	}
	if err != nil {
		return imp, fmt.Errorf("import the former status record %s: %w (move it aside to start without its statuses)", path, err)
	}
	var (
		entries []central.StatusEntry
		revs    []central.Revocation
		version uint64
	)
	err = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(legacyEntries); b != nil {
			if err := b.ForEach(func(k, v []byte) error {
				e, err := decodeStatus(k, v)
				entries = append(entries, e)
				return err
			}); err != nil {
				return err
			}
		}
		if b := tx.Bucket(legacyRevoked); b != nil {
			if err := b.ForEach(func(k, v []byte) error {
				r, err := decodeRevocation(k, v)
				revs = append(revs, r)
				return err
			}); err != nil {
				return err
			}
		}
		if b := tx.Bucket(legacyMeta); b != nil {
			v := b.Get(legacyVersion)
			switch len(v) {
			case 0:
			case 8:
				version = binary.BigEndian.Uint64(v)
			default:
				return fmt.Errorf("%w: the status version holds %d bytes, not 8", central.ErrStatusDamaged, len(v))
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		return imp, fmt.Errorf("import the former status record %s: %w (nothing was imported; move it aside to start without its statuses)", path, err)
	}
	imp.Entries, imp.Revocations = len(entries), len(revs)
	err = st.UpdateStatus(ctx, func(tx central.StatusTx) error {
		imp.Kept = 0
		for _, e := range entries {
			cur, ok, err := tx.Status(ctx, e.Holder)
			if err != nil {
				return err
			}
			if ok && !cur.SetAt.Before(e.SetAt) {
				imp.Kept++
				continue
			}
			if _, _, err := tx.SetStatus(ctx, e); err != nil {
				return fmt.Errorf("entry of %s: %w", e.Holder, err)
			}
		}
		have := map[string]bool{}
		for r, err := range tx.Revocations(ctx) {
			if err != nil {
				return err
			}
			have[r.UCI] = true
		}
		for _, r := range revs {
			if have[r.UCI] {
				continue
			}
			if _, err := tx.Revoke(ctx, r.UCI, r.RevokedAt, r.Until); err != nil {
				return fmt.Errorf("revocation of %s: %w", r.UCI, err)
			}
		}
		cur, err := tx.Version(ctx)
		if err != nil {
			return err
		}
		imp.Version = max(cur, version)
		if version > cur {
			return tx.SetVersion(ctx, version)
		}
		return nil
	})
	if err != nil {
		return imp, fmt.Errorf("import the former status record %s: %w (nothing was imported; move the file aside to start without its statuses)", path, err)
	}
	if err := os.Rename(path, path+ImportedSuffix); err != nil {
		return imp, fmt.Errorf("imported the former status record %s, but could not rename it (it would be imported again, harmlessly): %w", path, err)
	}
	return imp, nil
}
