package journal

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// metaBranch holds the journal's Branch: From (8 bytes big-endian) then
// the branch epoch (16 bytes); absent when the journal never forked.
var metaBranch = []byte("branch")

// Branch says where the centre keeps this journal's records from a fork
// on. A terminal whose data directory was restored from an older copy,
// or whose card was cloned, writes sequence numbers that the centre
// already holds with other records: the centre answers with a branch,
// an epoch of its own, and the records from From on are uploaded under
// it. The zero Branch means the journal never forked.
type Branch struct {
	From  Seq   `json:"from"`
	Epoch Epoch `json:"epoch"`
}

// Branch returns the journal's branch; the zero Branch when it has none.
func (j *Journal) Branch() (Branch, error) {
	var b Branch
	err := j.use(func() error {
		return j.db.View(func(tx *bbolt.Tx) error {
			var err error
			b, err = decodeBranch(tx.Bucket(bucketMeta).Get(metaBranch))
			return err
		})
	})
	return b, err
}

// SetBranch records, durably, that the centre keeps the records from
// b.From on under b.Epoch, and acknowledges the records before b.From,
// which the centre holds as they are. A later fork (of the branch itself)
// replaces it. The zero Branch removes it (the centre no longer knows
// the branch: the records go under the journal's epoch again).
func (j *Journal) SetBranch(b Branch) error {
	if b != (Branch{}) && (b.From < 1 || b.Epoch == (Epoch{}) || b.Epoch == j.epoch) {
		return fmt.Errorf("journal: set branch: from %d to %s is not a branch of %s", b.From, b.Epoch, j.epoch)
	}
	return j.use(func() error {
		if err := j.settle(); err != nil {
			return err
		}
		return j.db.Update(func(tx *bbolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if b == (Branch{}) {
				return meta.Delete(metaBranch)
			}
			last, err := getU64(meta, metaAnchorSeq)
			if err != nil {
				return err
			}
			if k, _ := tx.Bucket(bucketRecords).Cursor().Last(); k != nil {
				last = binary.BigEndian.Uint64(k)
			}
			if uint64(b.From) > last {
				return fmt.Errorf("%w: branch from %d, the last record is %d", ErrAckAhead, b.From, last)
			}
			ack, err := getU64(meta, metaAck)
			if err != nil {
				return err
			}
			if uint64(b.From)-1 > ack {
				if err := meta.Put(metaAck, u64(uint64(b.From)-1)); err != nil {
					return err
				}
			}
			v := binary.BigEndian.AppendUint64(nil, uint64(b.From))
			return meta.Put(metaBranch, append(v, b.Epoch[:]...))
		})
	})
}

func decodeBranch(v []byte) (Branch, error) {
	var b Branch
	if v == nil {
		return b, nil
	}
	if len(v) != 8+len(b.Epoch) {
		return b, fmt.Errorf("journal: meta branch is %d bytes, want %d (run sentinelctl journal verify)", len(v), 8+len(b.Epoch))
	}
	b.From = Seq(binary.BigEndian.Uint64(v))
	copy(b.Epoch[:], v[8:])
	return b, nil
}

// Branch returns the zero Branch: a salvage is sent under its epoch, and
// the centre drops its records at or below the mark without comparing
// them (its own copy was uploaded intact).
func (q *SalvageSource) Branch() (Branch, error) { return Branch{}, nil }

// SetBranch refuses: a salvaged journal is never sent to a branch.
func (q *SalvageSource) SetBranch(b Branch) error {
	if b == (Branch{}) {
		return nil
	}
	return fmt.Errorf("journal: salvage of %s: the centre answered a fork at %d; a salvage is not sent to a branch", q.s.Epoch, b.From)
}
