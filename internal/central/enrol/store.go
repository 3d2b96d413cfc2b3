package enrol

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"sentinel/internal/atomicfile"
	syncenrol "sentinel/sync/enrol"
)

// Store keeps enrolment tokens, enrolled devices and revocations. Its
// methods are safe for concurrent use.
type Store interface {
	// AddToken stores a token (its hash, never its value).
	AddToken(t Token) error
	// Redeem checks the token with hash h at now and marks it used by
	// device, in one step: ErrTokenUnknown, ErrTokenUsed or
	// ErrTokenExpired.
	Redeem(h TokenHash, device string, now time.Time) (Token, error)
	// AddDevice records an enrolled device.
	AddDevice(d Device) error
	// Devices lists the enrolled devices, by enrolment time.
	Devices() ([]Device, error)
	// Renewed records device id's new certificate (ErrUnknownDevice when
	// there is none).
	Renewed(id, serial string, notAfter time.Time) error
	// Revoke revokes device id (ErrUnknownDevice when there is none).
	Revoke(id string, now time.Time) error
	Revocations
}

// Revocations answers whether a device is revoked; it fails closed (a
// store it cannot read revokes every device).
type Revocations interface {
	Revoked(id string) bool
}

// RevocationChecker answers whether a device is revoked, or that it cannot
// tell now: Guard then refuses the request as unavailable (retried), not as
// revoked (which the terminal records and shows its guard).
type RevocationChecker interface {
	CheckRevoked(id string) (bool, error)
}

// TokenHash is the SHA-256 of a token's value.
type TokenHash [32]byte

// MarshalText implements encoding.TextMarshaler.
func (h TokenHash) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h[:])), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *TokenHash) UnmarshalText(b []byte) error {
	n, err := hex.Decode(h[:], b)
	if err != nil || n != len(h) {
		return fmt.Errorf("token hash %q: want 64 hex digits", b)
	}
	return nil
}

// Token is a single-use enrolment token bound to a site.
type Token struct {
	Hash    TokenHash `json:"hash"`
	Site    string    `json:"site"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Used    bool      `json:"used,omitempty"`
	UsedAt  time.Time `json:"used_at,omitzero"`
	Device  string    `json:"device,omitempty"` // the device it enrolled
}

// tokenEncoding spells tokens in upper case and digits, which a QR code
// holds in its compact alphanumeric mode.
var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken makes a random 128-bit token for site, valid from now for ttl,
// and returns its value (shown once, to ops) and its record.
func NewToken(site string, now time.Time, ttl time.Duration) (string, Token, error) {
	if err := CheckSite(site); err != nil {
		return "", Token{}, fmt.Errorf("enrol: new token: %w", err)
	}
	if ttl <= 0 {
		return "", Token{}, fmt.Errorf("enrol: new token: lifetime %v: want more than 0", ttl)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, fmt.Errorf("enrol: new token: %w", err)
	}
	v := tokenEncoding.EncodeToString(b[:])
	return v, Token{Hash: HashToken(v), Site: site, Created: now.UTC(), Expires: now.Add(ttl).UTC()}, nil
}

// HashToken returns the hash under which a token's value is stored.
func HashToken(v string) TokenHash {
	return sha256.Sum256([]byte(syncenrol.NormToken(v)))
}

// Device is an enrolled terminal.
type Device struct {
	ID       string    `json:"id"`
	Site     string    `json:"site"`
	Enrolled time.Time `json:"enrolled"`
	Serial   string    `json:"serial"` // of the last certificate, hex
	NotAfter time.Time `json:"not_after"`
	Revoked  time.Time `json:"revoked,omitzero"`
}

// FileStore is a Store in one JSON file, rewritten atomically on each
// change under an exclusive file lock, and re-read when another process
// changed it (the CLI revokes while the server runs).
type FileStore struct {
	path string

	mu    sync.Mutex
	mod   time.Time
	size  int64
	state fileState
}

var _ Store = (*FileStore)(nil)

type fileState struct {
	Tokens  []Token  `json:"tokens"`
	Devices []Device `json:"devices"`
}

// StoreFile is where OpenFileStore keeps its file in the centre's data
// directory.
const StoreFile = "enrol/enrol.json"

// OpenFileStore opens (or starts) the store in the centre's data directory.
func OpenFileStore(dir string) (*FileStore, error) {
	s := &FileStore{path: filepath.Join(dir, StoreFile)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// load re-reads the file when it changed. Callers hold mu.
func (s *FileStore) load() error {
	st, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enrol: store: %w", err)
	}
	if st.ModTime().Equal(s.mod) && st.Size() == s.size {
		return nil
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("enrol: store: %w", err)
	}
	var fsx fileState
	if err := json.Unmarshal(data, &fsx); err != nil {
		return fmt.Errorf("enrol: store %s: %w", s.path, err)
	}
	s.state, s.mod, s.size = fsx, st.ModTime(), st.Size()
	return nil
}

// save writes the state. Callers hold mu.
func (s *FileStore) save(next fileState) error {
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path, data, 0o600); err != nil {
		return fmt.Errorf("enrol: store: %w", err)
	}
	s.state = next
	if st, err := os.Stat(s.path); err == nil {
		s.mod, s.size = st.ModTime(), st.Size()
	}
	return nil
}

func (s *FileStore) update(f func(st *fileState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Other processes (the CLI beside the server) change the file too: an
	// exclusive lock on a lock file makes read-change-write one step.
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("enrol: store: %w", err)
	}
	lf, err := os.OpenFile(s.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("enrol: store: %w", err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("enrol: store: lock: %w", err)
	}
	defer unix.Flock(int(lf.Fd()), unix.LOCK_UN)
	if err := s.load(); err != nil {
		return err
	}
	next := fileState{
		Tokens:  append([]Token(nil), s.state.Tokens...),
		Devices: append([]Device(nil), s.state.Devices...),
	}
	if err := f(&next); err != nil {
		return err
	}
	return s.save(next)
}

// AddToken implements Store.
func (s *FileStore) AddToken(t Token) error {
	return s.update(func(st *fileState) error {
		st.Tokens = append(st.Tokens, t)
		return nil
	})
}

// Redeem implements Store.
func (s *FileStore) Redeem(h TokenHash, device string, now time.Time) (Token, error) {
	var got Token
	err := s.update(func(st *fileState) error {
		for i := range st.Tokens {
			t := &st.Tokens[i]
			if subtle.ConstantTimeCompare(t.Hash[:], h[:]) != 1 {
				continue
			}
			switch {
			case t.Used:
				return fmt.Errorf("%w at %s", ErrTokenUsed, t.UsedAt.Format(time.RFC3339))
			case !now.Before(t.Expires):
				return fmt.Errorf("%w at %s", ErrTokenExpired, t.Expires.Format(time.RFC3339))
			}
			t.Used, t.UsedAt, t.Device = true, now.UTC(), device
			got = *t
			return nil
		}
		return ErrTokenUnknown
	})
	return got, err
}

// AddDevice implements Store.
func (s *FileStore) AddDevice(d Device) error {
	return s.update(func(st *fileState) error {
		st.Devices = append(st.Devices, d)
		return nil
	})
}

// Devices implements Store.
func (s *FileStore) Devices() ([]Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	ds := append([]Device(nil), s.state.Devices...)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Enrolled.Before(ds[j].Enrolled) })
	return ds, nil
}

// Revoke implements Store.
func (s *FileStore) Revoke(id string, now time.Time) error {
	return s.update(func(st *fileState) error {
		for i := range st.Devices {
			if st.Devices[i].ID == id {
				if st.Devices[i].Revoked.IsZero() {
					st.Devices[i].Revoked = now.UTC()
				}
				return nil
			}
		}
		return fmt.Errorf("%w %q: see 'sentinel-central devices list'", ErrUnknownDevice, id)
	})
}

// Renewed implements Store.
func (s *FileStore) Renewed(id, serial string, notAfter time.Time) error {
	return s.update(func(st *fileState) error {
		for i := range st.Devices {
			if st.Devices[i].ID == id {
				st.Devices[i].Serial, st.Devices[i].NotAfter = serial, notAfter.UTC()
				return nil
			}
		}
		return fmt.Errorf("%w %q", ErrUnknownDevice, id)
	})
}

// Revoked implements Revocations. A store it cannot read revokes every
// device: it fails closed.
func (s *FileStore) Revoked(id string) bool {
	r, err := s.CheckRevoked(id)
	return r || err != nil
}

// CheckRevoked implements RevocationChecker: whether device id is
// revoked, or the error that keeps the store from telling.
func (s *FileStore) CheckRevoked(id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return false, err
	}
	for _, d := range s.state.Devices {
		if d.ID == id {
			return !d.Revoked.IsZero(), nil
		}
	}
	return false, nil
}
