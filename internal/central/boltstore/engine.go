package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"sentinel/internal/central"
)

var _ central.EngineStore = (*Store)(nil)

// The code engine's part of the store. Values are the JSON of the central
// types; keys:
var (
	bucketFacts       = []byte("engine-facts")        // be64(seq) -> central.Fact
	bucketFactsHolder = []byte("engine-facts-holder") // holder 0x00 be64(seq) -> nothing
	bucketAreas       = []byte("engine-areas")        // id -> central.Area
	bucketSites       = []byte("engine-sites")        // id -> central.Site
	bucketGrades      = []byte("engine-grades")       // be64(n) -> central.Grade
	bucketRuleSets    = []byte("engine-rule-sets")    // region 0x00 be64(number) -> central.RuleSet
	bucketChanges     = []byte("engine-changes")      // be64(seq) -> central.EngineChange
)

var engineBuckets = [][]byte{bucketFacts, bucketFactsHolder, bucketAreas, bucketSites, bucketGrades, bucketRuleSets, bucketChanges}

// UpdateEngine implements central.EngineStore in one bbolt transaction.
func (s *Store) UpdateEngine(ctx context.Context, fn func(central.EngineTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range engineBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		fnErr = fn(central.EngineTxOf(&engineTx{tx: tx}))
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("boltstore: engine update: %w", err)
	}
	return nil
}

// ViewEngine implements central.EngineStore.
func (s *Store) ViewEngine(ctx context.Context, fn func(central.EngineReader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(&engineTx{tx: tx}) })
}

// engineTx is central.EnginePrimitives on a bbolt transaction. In a
// read-only transaction of a store that never held engine data the
// buckets are missing and everything reads empty.
type engineTx struct{ tx *bolt.Tx }

var _ central.EnginePrimitives = (*engineTx)(nil)

func decodeEngine[T any](key, v []byte) (T, error) {
	var x T
	if err := json.Unmarshal(v, &x); err != nil {
		return x, fmt.Errorf("%w: %q: %v", central.ErrEngineDamaged, key, err)
	}
	return x, nil
}

// allIn decodes every value of bucket name in key order.
func allIn[T any](tx *bolt.Tx, name []byte) ([]T, error) {
	b := tx.Bucket(name)
	if b == nil {
		return nil, nil
	}
	var out []T
	err := b.ForEach(func(k, v []byte) error {
		x, err := decodeEngine[T](k, v)
		out = append(out, x)
		return err
	})
	return out, err
}

func holderKey(holder string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(holder), 0), seq)
}

func (t *engineTx) Facts(ctx context.Context, holder string) ([]central.Fact, error) {
	idx, facts := t.tx.Bucket(bucketFactsHolder), t.tx.Bucket(bucketFacts)
	if idx == nil || facts == nil {
		return nil, nil
	}
	prefix := append([]byte(holder), 0)
	var out []central.Fact
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		seq := k[len(prefix):]
		f, err := decodeEngine[central.Fact](seq, facts.Get(seq))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (t *engineTx) AllFacts(ctx context.Context) ([]central.Fact, error) {
	out, err := allIn[central.Fact](t.tx, bucketFacts)
	slices.SortFunc(out, func(a, b central.Fact) int {
		return cmp.Or(strings.Compare(a.Holder, b.Holder), cmp.Compare(a.Seq, b.Seq))
	})
	return out, err
}

func (t *engineTx) Areas(ctx context.Context) ([]central.Area, error) {
	return allIn[central.Area](t.tx, bucketAreas)
}

func (t *engineTx) Sites(ctx context.Context) ([]central.Site, error) {
	return allIn[central.Site](t.tx, bucketSites)
}

func (t *engineTx) Grades(ctx context.Context) ([]central.Grade, error) {
	out, err := allIn[central.Grade](t.tx, bucketGrades)
	slices.SortStableFunc(out, func(a, b central.Grade) int {
		return cmp.Or(strings.Compare(a.Area, b.Area), a.Effective.Compare(b.Effective))
	})
	return out, err
}

func (t *engineTx) RuleSets(ctx context.Context) ([]central.RuleSet, error) {
	return allIn[central.RuleSet](t.tx, bucketRuleSets)
}

func (t *engineTx) Changes(ctx context.Context, from uint64, limit int) ([]central.EngineChange, error) {
	b := t.tx.Bucket(bucketChanges)
	if b == nil {
		return nil, nil
	}
	var out []central.EngineChange
	c := b.Cursor()
	for k, v := c.Seek(be64(from)); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
		x, err := decodeEngine[central.EngineChange](k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func getEngine[T any](tx *bolt.Tx, name, key []byte) (T, bool, error) {
	var zero T
	b := tx.Bucket(name)
	if b == nil {
		return zero, false, nil
	}
	v := b.Get(key)
	if v == nil {
		return zero, false, nil
	}
	x, err := decodeEngine[T](key, v)
	return x, err == nil, err
}

func (t *engineTx) Area(ctx context.Context, id string) (central.Area, bool, error) {
	return getEngine[central.Area](t.tx, bucketAreas, []byte(id))
}

func (t *engineTx) Site(ctx context.Context, id string) (central.Site, bool, error) {
	return getEngine[central.Site](t.tx, bucketSites, []byte(id))
}

func (t *engineTx) Fact(ctx context.Context, seq uint64) (central.Fact, bool, error) {
	return getEngine[central.Fact](t.tx, bucketFacts, be64(seq))
}

func (t *engineTx) InsertFact(ctx context.Context, f central.Fact) (uint64, error) {
	b := t.tx.Bucket(bucketFacts)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	f.Seq = seq
	if err := put(b, be64(seq), f); err != nil {
		return 0, err
	}
	return seq, t.tx.Bucket(bucketFactsHolder).Put(holderKey(f.Holder, seq), nil)
}

func (t *engineTx) DeleteFact(ctx context.Context, seq uint64) error {
	f, ok, err := t.Fact(ctx, seq)
	if err != nil || !ok {
		return err
	}
	if err := t.tx.Bucket(bucketFactsHolder).Delete(holderKey(f.Holder, seq)); err != nil {
		return err
	}
	return t.tx.Bucket(bucketFacts).Delete(be64(seq))
}

func (t *engineTx) PutArea(ctx context.Context, a central.Area) error {
	return put(t.tx.Bucket(bucketAreas), []byte(a.ID), a)
}

func (t *engineTx) PutSite(ctx context.Context, s central.Site) error {
	return put(t.tx.Bucket(bucketSites), []byte(s.ID), s)
}

func (t *engineTx) InsertGrade(ctx context.Context, g central.Grade) error {
	b := t.tx.Bucket(bucketGrades)
	n, err := b.NextSequence()
	if err != nil {
		return err
	}
	return put(b, be64(n), g)
}

func ruleSetKey(region string, n uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(region), 0), n)
}

func (t *engineTx) LastRuleSet(ctx context.Context, region string) (uint64, error) {
	b := t.tx.Bucket(bucketRuleSets)
	if b == nil {
		return 0, nil
	}
	prefix := append([]byte(region), 0)
	c := b.Cursor()
	k, _ := c.Seek(ruleSetKey(region, ^uint64(0)))
	switch {
	case k == nil:
		k, _ = c.Last()
	case !bytes.Equal(k, ruleSetKey(region, ^uint64(0))):
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
		return 0, nil
	}
	return binary.BigEndian.Uint64(k[len(prefix):]), nil
}

func (t *engineTx) InsertRuleSet(ctx context.Context, r central.RuleSet) error {
	return put(t.tx.Bucket(bucketRuleSets), ruleSetKey(r.Region, r.Number), r)
}

func (t *engineTx) AppendChange(ctx context.Context, c central.EngineChange) error {
	b := t.tx.Bucket(bucketChanges)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	c.Seq = seq
	return put(b, be64(seq), c)
}
