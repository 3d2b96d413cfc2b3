package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"golang.org/x/sys/unix"

	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enrol"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/central/server"
	"sentinel/internal/cli"
)

// backupHeaderTimeout bounds the wait for the server's answer to a backup
// request; the copy itself may take as long as it needs.
const backupHeaderTimeout = 30 * time.Second

// runBackup backs up the centre on bbolt. With --out DIR it writes a new
// directory shaped as a data directory: a consistent copy of the store
// (passages, statuses, devices, tokens, audit log), offline from
// DATA/central.db or through a running server's operator API with an admin
// token, then the files that stay in DATA (the device CA, the bundle
// repository, keys); restoring is copying it into an empty data directory.
// With --out FILE.db it copies the store alone, as before. Either way it
// opens the store's copy read-only, checks it and reports what it holds.
// A centre on PostgreSQL is refused with what to run instead.
func runBackup(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central backup", stderr, cli.CommandHelp(ctx))
	out := fs.String("out", "", "write the backup to `PATH` (required): a new directory gets the whole centre, restorable as a data directory; a FILE.db gets a copy of the store only (replaced atomically)")
	data := fs.String("data", defaultCentralData, "the centre's data `DIR` (the store offline; the CA for --server)")
	srvURL := fs.String("server", "", "take the copy through the running server's operator API at `URL` (https://HOST:PORT of serve --ops-listen)")
	tokenFile := fs.String("token-file", "", "`FILE` holding an admin role token, for --server")
	caFile := fs.String("ca", "", "the device CA `FILE` that verifies --server (default DATA/"+enrol.CACertFile+")")
	return cli.Exit(stderr, "sentinel-central backup", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *out == "" {
			return cli.Usagef("--out DIR is required: a new directory for the whole centre")
		}
		if *srvURL == "" && (*tokenFile != "" || *caFile != "") {
			return cli.Usagef("--token-file and --ca go with --server")
		}
		if *srvURL != "" && *tokenFile == "" {
			return cli.Usagef("--server needs --token-file FILE with an admin token")
		}
		if err := checkBackupTarget(*out, *data); err != nil {
			return err
		}
		if *srvURL == "" && keptInPostgres(*data) {
			return errors.New(postgresBackupMessage(*data))
		}
		whole := !strings.HasSuffix(*out, ".db")
		storeOut, dir := *out, ""
		if whole {
			var err error
			if dir, err = newBackupDir(*out); err != nil {
				return err
			}
			defer os.RemoveAll(dir) // renamed to --out when whole
			storeOut = filepath.Join(dir, server.StoreFile)
		}
		var (
			n   int64
			err error
		)
		if *srvURL == "" {
			n, err = backupOffline(ctx, *data, storeOut)
		} else {
			ca := *caFile
			if ca == "" {
				ca = filepath.Join(*data, enrol.CACertFile)
			}
			n, err = backupRemote(ctx, *srvURL, *tokenFile, ca, storeOut)
		}
		if err != nil {
			return err
		}
		sum, err := checkBackup(storeOut)
		if err != nil {
			return fmt.Errorf("%s was written but does not check: %w; keep the previous backup", storeOut, err)
		}
		if !whole {
			fmt.Fprintf(stdout, "backup %s: %d bytes, %s of %s, checked\n", *out, n, count(sum.passages, "passage"), count(sum.devices, "device"))
			fmt.Fprintf(stderr, "sentinel-central backup: %s holds the store only (passages, statuses, devices, tokens, audit log); the device CA and the bundles stay in %s: give --out a directory (not *.db) to back up the whole centre\n", *out, *data)
			return nil
		}
		files, err := copyDataFiles(ctx, *data, dir)
		if err != nil {
			return err
		}
		if err := syncTree(dir); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
		if err := os.Rename(dir, *out); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
		fmt.Fprintf(stdout, "backup %s: the store (%d bytes, %s of %s, %s, %s; checked) and %s of %s (device CA, bundles)\n",
			*out, n, count(sum.passages, "passage"), count(sum.devices, "device"), count(sum.enrolled, "enrolled terminal"),
			count(sum.audit, "audit entry"), count(files, "file"), *data)
		fmt.Fprintf(stdout, "to restore: stop serve, then copy it into an empty data directory: cp -a %s/. DATA/\n", *out)
		return nil
	}())
}

// postgresBackupMessage says how a centre on PostgreSQL is backed up.
func postgresBackupMessage(data string) string {
	return fmt.Sprintf("this centre keeps its state in PostgreSQL ('serve --postgres' ran with --data %s): backup copies bbolt stores only. "+
		"Back up the database with pg_dump (pg_dump --format=custom --file=centre.dump URL) or pg_basebackup, "+
		"and copy the files that stay in %s (enrol/ with the device CA's key, bundles/, keys/ if kept there): "+
		"see docs/central.md, Backup and restore", data, data)
}

// newBackupDir makes the temporary directory beside out that becomes out
// when the backup is whole; out must not exist or be an empty directory.
func newBackupDir(out string) (string, error) {
	if fi, err := os.Stat(out); err == nil {
		if !fi.IsDir() {
			return "", fmt.Errorf("--out %s is a file: give a new directory for the whole centre (or a FILE.db for the store only)", out)
		}
		if es, err := os.ReadDir(out); err != nil || len(es) > 0 {
			return "", fmt.Errorf("--out %s is a directory that is not empty: give a new one, so that no older backup is mixed in", out)
		}
		if err := os.Remove(out); err != nil {
			return "", fmt.Errorf("--out %s: %w", out, err)
		}
	}
	dir, err := os.MkdirTemp(filepath.Dir(out), filepath.Base(out)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w (does its directory exist?)", out, err)
	}
	return dir, nil
}

// backupSkip are the names in the data directory that a whole backup does
// not copy: the store (copied through bbolt), serve's socket.
var backupSkip = map[string]bool{server.StoreFile: true, controlFile: true}

// copyDataFiles copies what the data directory holds besides the store
// into dir: the device CA, the bundle repository, a former status record
// not yet imported (a consistent bbolt copy), keys and whatever else lies
// there, with their
// modes. Sockets, lock files and temporary files are left out. It
// returns how many files it copied.
func copyDataFiles(ctx context.Context, data, dir string) (int, error) {
	n := 0
	// The bundle index first: bundles publish writes a bundle before the
	// index that names it, so every bundle the copied index names is
	// copied too.
	index := filepath.Join(server.BundlesDir, "index.json")
	if _, err := os.Stat(filepath.Join(data, index)); err == nil {
		if err := copyFile(filepath.Join(data, index), filepath.Join(dir, index)); err != nil {
			return n, err
		}
		n++
	}
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(data, path)
		if err != nil || rel == "." {
			return err
		}
		switch {
		case backupSkip[rel] || rel == index:
			return nil
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dir, rel), 0o700)
		case !d.Type().IsRegular(), strings.HasSuffix(rel, ".lock"), strings.Contains(d.Name(), ".tmp-"):
			return nil
		case rel == boltstore.LegacyStatusFile:
			if err := copyBolt(path, filepath.Join(dir, rel)); err != nil {
				return err
			}
		default:
			if err := copyFile(path, filepath.Join(dir, rel)); err != nil {
				return err
			}
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("copy the data directory %s: %w", data, err)
	}
	return n, nil
}

// copyFile copies the regular file src to dst with its mode.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// copyBolt writes a consistent copy of the bbolt file src (the former
// status record, which an older release's commands open for a moment at a
// time) to dst.
func copyBolt(src, dst string) error {
	db, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		return fmt.Errorf("%s: %w (a status command holds it: retry)", src, err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error { return tx.CopyFile(dst, 0o600) })
}

// syncTree syncs every file and directory under dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// checkBackupTarget refuses an --out that would replace the live store
// or land inside the centre's data directory: a copy renamed over
// DATA/central.db leaves a running server writing to a deleted file
// (acknowledged passages lost at its next start), and a copy beside the
// store dies with the same disk. Relative paths and symbolic links are
// resolved first, and an existing file that another process holds locked
// (a store in use by a running server, whatever its data directory) is
// refused too.
func checkBackupTarget(out, data string) error {
	where := "write it to another directory, on another disk if you can (e.g. --out /srv/backup/central-" + time.Now().UTC().Format("20060102") + ".db)"
	target, err := resolvePath(out)
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if dir, err := resolvePath(data); err == nil && within(target, dir) {
		return fmt.Errorf("--out %s is inside the centre's data directory %s: a backup there can replace the live store and is lost with it; %s", out, dir, where)
	}
	if live, err := os.Stat(filepath.Join(data, server.StoreFile)); err == nil {
		if fi, err := os.Stat(target); err == nil && os.SameFile(fi, live) {
			return fmt.Errorf("--out %s is the live store %s: %s", out, filepath.Join(data, server.StoreFile), where)
		}
	}
	if inUse(target) {
		return fmt.Errorf("--out %s is a file that a running process holds open and locked (a live store?): nothing was written; %s", out, where)
	}
	return nil
}

// resolvePath returns the absolute path of p with every symbolic link
// resolved; the last elements may not exist yet.
func resolvePath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
		cur = parent
	}
}

// within reports whether path is dir or lies under it (both resolved).
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// inUse reports whether path is a file that another process holds an
// exclusive lock on, as a serving bbolt store does.
func inUse(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

// backupOffline copies DATA/central.db while no server holds it.
func backupOffline(ctx context.Context, data, out string) (int64, error) {
	path := filepath.Join(data, server.StoreFile)
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("no central store at %s: check --data (a PostgreSQL centre is backed up with pg_dump, see docs/scaling.md): %w", path, err)
	}
	st, err := boltstore.Open(path, &boltstore.Options{Timeout: opsLockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return 0, fmt.Errorf("%s is in use by a running server: take the copy through it with --server https://HOST:PORT --token-file FILE (an admin token; serve --ops-listen)", path)
	}
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.BackupFile(ctx, out)
}

// backupRemote fetches the copy from the server into a temporary file
// beside out, checks it and renames it over out.
func backupRemote(ctx context.Context, rawURL, tokenFile, caFile, out string) (int64, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return 0, cli.Usagef("--server %q: want https://HOST:PORT (the token must not travel in clear)", rawURL)
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		return 0, fmt.Errorf("--token-file: %w", err)
	}
	token := strings.TrimSpace(string(tok))
	if token == "" {
		return 0, fmt.Errorf("--token-file %s is empty", tokenFile)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return 0, fmt.Errorf("the device CA that verifies the server: %w (give --ca or --data)", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return 0, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13},
		ResponseHeaderTimeout: backupHeaderTimeout,
	}}
	defer hc.CloseIdleConnections()
	u = u.JoinPath(opsapi.BackupPath)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("backup from %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
		return 0, fmt.Errorf("backup from %s: refused (%s): %s", rawURL, resp.Status, e.Error)
	}

	f, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", out, err)
	}
	tmp := f.Name()
	n, err := io.Copy(f, resp.Body)
	if err != nil {
		err = fmt.Errorf("backup from %s cut off after %d bytes: %w", rawURL, n, err)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if _, cerr := checkBackup(tmp); cerr != nil {
			err = fmt.Errorf("the copy from %s does not check: %w", rawURL, cerr)
		}
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return n, err
	}
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return n, fmt.Errorf("write %s: sync directory: %w", out, err)
		}
	}
	return n, nil
}

// backupSummary is what a checked copy holds.
type backupSummary struct {
	devices, passages int
	enrolled, audit   int // the registry's devices, the audit log's entries
}

// checkBackup opens the copy read-only, runs bbolt's consistency check and
// counts the devices and passages (boltstore's layout: devices/ID/epochs/
// EPOCH/SEQ).
func checkBackup(path string) (backupSummary, error) {
	var sum backupSummary
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opsLockTimeout})
	if err != nil {
		return sum, err
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bbolt check: %w", err)
		}
		if b := tx.Bucket([]byte("enrolled")); b != nil {
			sum.enrolled = b.Stats().KeyN
		}
		if b := tx.Bucket([]byte("audit")); b != nil {
			sum.audit = b.Stats().KeyN
		}
		devs := tx.Bucket([]byte("devices"))
		if devs == nil {
			return nil // an empty store
		}
		return devs.ForEachBucket(func(id []byte) error {
			sum.devices++
			epochs := devs.Bucket(id).Bucket([]byte("epochs"))
			if epochs == nil {
				return nil
			}
			return epochs.ForEachBucket(func(e []byte) error {
				sum.passages += epochs.Bucket(e).Stats().KeyN
				return nil
			})
		})
	})
	return sum, err
}
