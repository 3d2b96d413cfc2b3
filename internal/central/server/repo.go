package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	syncserver "sentinel/sync/server"
)

// DefaultBundlePoll is Config.BundlePoll when 0.
const DefaultBundlePoll = time.Second

// liveRepo serves the bundle repository and opens it again when it
// changed: in a directory, when its index changed on disk (sentinel-central
// bundles publish, another process, writes the index last, so a new index
// means a complete new state); in a store that several servers share,
// when its generation moved, which it asks at most once per poll.
type liveRepo struct {
	opts   bundles.Options
	logger *slog.Logger
	poll   time.Duration

	mu      sync.Mutex
	repo    *bundles.Repo
	index   os.FileInfo // of the index the repo was opened with; nil when none
	checked time.Time   // shared: when the generation was last asked
}

var _ syncserver.BundleSource = (*liveRepo)(nil)

func openLiveRepo(opts bundles.Options, poll time.Duration, logger *slog.Logger) (*liveRepo, error) {
	if poll <= 0 {
		poll = DefaultBundlePoll
	}
	var fi os.FileInfo
	if opts.Shared == nil {
		fi, _ = os.Stat(filepath.Join(opts.Dir, bundles.IndexFile))
	}
	repo, err := bundles.Open(opts)
	if err != nil {
		return nil, err
	}
	return &liveRepo{opts: opts, logger: logger, poll: poll, repo: repo, index: fi, checked: time.Now()}, nil
}

// current returns the repository, opened again when it changed. A
// repository that fails to open keeps the previous one serving.
func (l *liveRepo) current() *bundles.Repo {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opts.Shared != nil {
		return l.currentShared()
	}
	fi, err := os.Stat(filepath.Join(l.opts.Dir, bundles.IndexFile))
	if err != nil || sameFile(fi, l.index) {
		return l.repo
	}
	repo, err := bundles.Open(l.opts)
	if err != nil {
		l.logger.Error("bundle repository changed but does not open: serving the previous bundles", "error", err)
		return l.repo
	}
	l.repo, l.index = repo, fi
	l.logger.Info("bundle repository reloaded", "bundles", len(repo.List()))
	return repo
}

func (l *liveRepo) currentShared() *bundles.Repo {
	if time.Since(l.checked) < l.poll {
		return l.repo
	}
	l.checked = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gen, err := l.opts.Shared.BundleGeneration(ctx)
	if err != nil {
		l.logger.Warn("cannot ask the database whether the bundles changed: serving the bundles read before", "error", err)
		return l.repo
	}
	if gen == l.repo.Generation() {
		return l.repo
	}
	repo, err := bundles.Open(l.opts)
	if err != nil {
		l.logger.Error("the bundles in the database changed but do not open: serving the previous bundles", "error", err)
		return l.repo
	}
	l.repo = repo
	l.logger.Info("bundle repository reloaded from the database", "bundles", len(repo.List()), "generation", repo.Generation())
	return repo
}

func sameFile(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// Latest implements syncserver.BundleSource.
func (l *liveRepo) Latest(kind trust.Kind) (*syncserver.Published, error) {
	return l.current().Latest(kind)
}

// StatusSince implements syncserver.BundleSource.
func (l *liveRepo) StatusSince(v uint64) ([]*syncserver.Published, error) {
	return l.current().StatusSince(v)
}
