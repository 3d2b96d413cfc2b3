package statuspub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/statuspub"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestSharedRepository: two central servers on one PostgreSQL database,
// each with a data directory of its own, publish status changes in turn
// and at once. The bundles live in the database, so both extend one chain
// of deltas: no change is published as a base because one server's
// directory lacked the other's bundles (each kept its own bundles/ before,
// and the second server's first change gave a base), and every version is
// published once. A data directory's bundles from before move into the
// database once, and the directory then refuses to be published into.
func TestSharedRepository(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.NewDatabase(t)
	k := bundlestest.NewKeys(t, t0)
	// Server A's data directory has a policy published before the move.
	dirA := t.TempDir()
	local, err := bundles.Open(bundles.Options{Dir: filepath.Join(dirA, statuspub.BundlesDir), Root: k.Root.Public(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Publish(trust.KindPolicy, bundlestest.Policy(t, "p1"), k.Signer, k.Delegation, 24*time.Hour, 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	var pubs []*statuspub.Publisher
	for _, dir := range []string{dirA, t.TempDir()} {
		st, err := pgstore.Open(ctx, conn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		pubs = append(pubs, &statuspub.Publisher{Store: st, DataDir: dir, Root: k.Root.Public(), Now: func() time.Time { return t0 },
			Signer: statuspub.Signer{Key: k.Signer, Delegation: k.Delegation, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}})
	}
	a, b := pubs[0], pubs[1]
	for i, p := range []*statuspub.Publisher{a, b, a, b} {
		res, err := p.Publish(ctx, set(uint32(i)))
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		want := trust.KindStatusDelta
		if i == 0 {
			want = trust.KindStatusBase
		}
		if res.Bundle.Kind != want || res.Bundle.Version != uint64(i+1) {
			t.Errorf("change %d on server %c: got %s version %d (%s), want %s version %d", i, 'A'+i%2, res.Bundle.Kind, res.Bundle.Version, res.Why, want, i+1)
		}
	}
	// At once, from both servers.
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			p := pubs[i%2]
			res, err := p.Publish(ctx, set(uint32(100+i)))
			if err == nil && res.Bundle.Kind != trust.KindStatusDelta {
				err = errors.New("published a base: " + res.Why)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, p := range pubs {
		var c statuspub.Chain
		var policy *bundles.Entry
		if err := p.Locked(func(repo *bundles.Repo) error {
			c = statuspub.ChainOf(repo)
			for _, e := range repo.List() {
				if e.Kind == trust.KindPolicy {
					policy = &e
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if c.Base.Version != 1 || len(c.Deltas) != 4+n-1 || c.Version != 4+n {
			t.Errorf("%s: got base %d, %d deltas, version %d; want base 1, %d deltas, version %d", p.DataDir, c.Base.Version, len(c.Deltas), c.Version, 4+n-1, 4+n)
		}
		for i, d := range c.Deltas {
			if d.Version != uint64(i+2) || d.Base != uint64(i+1) {
				t.Errorf("delta %d: version %d on %d, want %d on %d", i, d.Version, d.Base, i+2, i+1)
			}
		}
		if policy == nil || policy.Version != 1 {
			t.Errorf("%s: got policy %+v, want the policy A published before the move, version 1", p.DataDir, policy)
		}
	}
	if _, err := bundles.Open(bundles.Options{Dir: filepath.Join(dirA, statuspub.BundlesDir)}); !errors.Is(err, bundles.ErrMoved) {
		t.Errorf("A's directory after the move: got %v, want ErrMoved", err)
	}
}
