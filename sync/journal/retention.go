package journal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// Ack records that the centre has ingested every record of epoch up to and
// including seq. Acknowledgements only move forward; an older one is
// ignored.
func (j *Journal) Ack(epoch Epoch, seq Seq) error {
	if epoch != j.epoch {
		return fmt.Errorf("%w: got %s, the journal is at %s", ErrEpoch, epoch, j.epoch)
	}
	return j.use(func() error {
		if err := j.settle(); err != nil {
			return err
		}
		return j.db.Update(func(tx *bbolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			cur, err := getU64(meta, metaAck)
			if err != nil {
				return err
			}
			last, err := getU64(meta, metaAnchorSeq)
			if err != nil {
				return err
			}
			if k, _ := tx.Bucket(bucketRecords).Cursor().Last(); k != nil {
				last = binary.BigEndian.Uint64(k)
			}
			if uint64(seq) > last {
				return fmt.Errorf("%w: %d, the last record is %d", ErrAckAhead, seq, last)
			}
			if uint64(seq) <= cur {
				return nil
			}
			return meta.Put(metaAck, u64(uint64(seq)))
		})
	})
}

// Acked returns the sequence number the centre acknowledged last.
func (j *Journal) Acked() (Seq, error) {
	var s Seq
	err := j.use(func() error {
		return j.db.View(func(tx *bbolt.Tx) error {
			v, err := getU64(tx.Bucket(bucketMeta), metaAck)
			s = Seq(v)
			return err
		})
	})
	return s, err
}

// PurgeReport says what Purge did.
type PurgeReport struct {
	Deleted  int     `json:"deleted"`
	Through  Seq     `json:"through"`   // last record deleted so far (the anchor)
	DiskUsed float64 `json:"disk_used"` // fraction of the file system in use, -1 if unknown
	Early    bool    `json:"early"`     // acknowledged records were purged regardless of age
	// MovedAside are the moved-aside journal files and their delivered
	// salvages deleted (PurgeMovedAside).
	MovedAside []string `json:"moved_aside,omitempty"`
}

// purgeChunk bounds the records one purge transaction deletes.
const purgeChunk = 4096

// Purge deletes the records that the centre acknowledged and that are
// older than the retention period, oldest first, and stops at the first
// record that must stay: only a prefix of the journal is ever deleted, and
// the hash of the last deleted record is kept so that Verify still checks
// the rest. When the file system is more than DiskLimit full, it deletes
// every acknowledged record regardless of age and raises AlarmDisk.
// Unacknowledged records are never purged. It then deletes the journal
// files moved aside whose salvage the centre holds, by the same age and
// the same disk limit (PurgeMovedAside).
func (j *Journal) Purge(now time.Time) (PurgeReport, error) {
	rep := PurgeReport{DiskUsed: -1}
	err := j.use(func() error {
		if used, err := diskUsed(j.statfs, filepath.Dir(j.path)); err == nil {
			rep.DiskUsed = used
			rep.Early = used > j.opts.DiskLimit
		}
		cutoff := now.Add(-j.Retention())
		for {
			n, through, err := j.purgeOnce(cutoff, rep.Early)
			if err != nil {
				return err
			}
			rep.Deleted += n
			rep.Through = through
			if n < purgeChunk {
				return nil
			}
		}
	})
	if err != nil {
		return rep, fmt.Errorf("purge journal: %w", err)
	}
	// The disk alarm is raised even when a moved-aside file cannot go:
	// the guard must still hear that the disk is full.
	moved, movedErr := PurgeMovedAside(j.path, j.Retention(), now, rep.Early)
	rep.MovedAside = moved
	if rep.Early {
		j.raise(Alarm{Kind: AlarmDisk, At: now, Message: fmt.Sprintf(
			"disk %.0f%% full (limit %.0f%%): purged %d acknowledged records early; free space on the terminal or let it sync",
			rep.DiskUsed*100, j.opts.DiskLimit*100, rep.Deleted)})
	} else if rep.DiskUsed >= 0 {
		j.clear(AlarmDisk)
	}
	return rep, movedErr
}

func (j *Journal) purgeOnce(cutoff time.Time, early bool) (int, Seq, error) {
	var (
		n       int
		through Seq
	)
	err := j.db.Update(func(tx *bbolt.Tx) error {
		meta, recs := tx.Bucket(bucketMeta), tx.Bucket(bucketRecords)
		ack, err := getU64(meta, metaAck)
		if err != nil {
			return err
		}
		anchor, err := getU64(meta, metaAnchorSeq)
		if err != nil {
			return err
		}
		through = Seq(anchor)
		var (
			keys [][]byte
			hash Hash
		)
		c := recs.Cursor()
		for k, v := c.First(); k != nil && len(keys) < purgeChunk; k, v = c.Next() {
			s := Seq(binary.BigEndian.Uint64(k))
			if uint64(s) > ack {
				break
			}
			r, err := DecodeRecord(v)
			if err != nil {
				return fmt.Errorf("record %d: %w (run sentinelctl journal verify)", s, err)
			}
			if !early && !r.Time.Before(cutoff) {
				break
			}
			keys = append(keys, bytes.Clone(k))
			hash, through = Chain(r.Prev, v), s
		}
		for _, k := range keys {
			if err := recs.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		if n == 0 {
			return nil
		}
		if err := meta.Put(metaAnchorSeq, u64(uint64(through))); err != nil {
			return err
		}
		return meta.Put(metaAnchorHash, hash[:])
	})
	return n, through, err
}

// diskUsed returns the fraction of the file system holding dir in use, as
// df counts it (blocks not available to unprivileged users count as used).
func diskUsed(statfs func(string, *unix.Statfs_t) error, dir string) (float64, error) {
	var st unix.Statfs_t
	if err := statfs(dir, &st); err != nil {
		return 0, err
	}
	if st.Blocks == 0 {
		return 0, fmt.Errorf("statfs %s: no blocks", dir)
	}
	return 1 - float64(st.Bavail)/float64(st.Blocks), nil
}

func (j *Journal) purgeLoop() {
	defer j.wg.Done()
	t := time.NewTicker(j.opts.PurgeEvery)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			if _, err := j.Purge(j.opts.Now()); err != nil {
				j.raise(Alarm{Kind: AlarmPurge, At: j.opts.Now(), Message: err.Error()})
			} else {
				j.clear(AlarmPurge)
			}
		}
	}
}
