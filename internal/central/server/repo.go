package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	syncserver "sentinel/sync/server"
)

// indexFile is the bundle repository's index, which it writes last.
const indexFile = "index.json"

// liveRepo serves the bundle repository and opens it again when its index
// changed on disk: sentinel-central bundles publish, another process,
// writes the index last, so a new index means a complete new state.
type liveRepo struct {
	opts   bundles.Options
	logger *slog.Logger

	mu    sync.Mutex
	repo  *bundles.Repo
	index os.FileInfo // of the index the repo was opened with; nil when none
}

var _ syncserver.BundleSource = (*liveRepo)(nil)

func openLiveRepo(opts bundles.Options, logger *slog.Logger) (*liveRepo, error) {
	fi, _ := os.Stat(filepath.Join(opts.Dir, indexFile))
	repo, err := bundles.Open(opts)
	if err != nil {
		return nil, err
	}
	return &liveRepo{opts: opts, logger: logger, repo: repo, index: fi}, nil
}

// current returns the repository, opened again when the index changed.
// A repository that fails to open keeps the previous one serving.
func (l *liveRepo) current() *bundles.Repo {
	l.mu.Lock()
	defer l.mu.Unlock()
	fi, err := os.Stat(filepath.Join(l.opts.Dir, indexFile))
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
