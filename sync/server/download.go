package server

import (
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"sentinel/crypto/cose"
	"sentinel/crypto/trust"
	"sentinel/sync/protocol"
)

// Published is a signed bundle file as the centre serves it.
type Published struct {
	Kind    trust.Kind
	Version uint64
	Base    uint64   // status-delta: the version it applies to
	Digest  [32]byte // trust.Bundle.Digest: the download's ETag
	Data    []byte   // the bundle file, as trust.OpenBundle reads it
}

// ETag returns the entity tag of p: its digest in hex, quoted.
func (p *Published) ETag() string { return ETag(p.Digest) }

// ETag returns the entity tag of a bundle with the given digest.
func ETag(digest [32]byte) string { return `"` + hex.EncodeToString(digest[:]) + `"` }

// BundleSource is the centre's bundle repository as the download handler
// uses it (internal/central/bundles.Repo is one).
type BundleSource interface {
	// Latest returns the current bundle of kind, or nil when none was
	// published. Status kinds are served through StatusSince.
	Latest(kind trust.Kind) (*Published, error)
	// StatusSince returns what a terminal holding status version v needs:
	// the deltas after v in order, or, when v is not on the current
	// chain (older than the base, unknown, 0), the base followed by every
	// delta since it. Nothing when v is the current version.
	StatusSince(v uint64) ([]*Published, error)
}

// Paths and media types of the download (protocol version v).
const (
	BundleType = "application/x-sentinel-bundle"
	StatusType = "application/x-sentinel-status"
	TimeType   = "application/x-sentinel-time"
	// MinNonce and MaxNonce bound the nonce of a time request, in bytes.
	MinNonce = 16
	MaxNonce = 64
	// MaxStatusResponse bounds a status answer a client reads.
	MaxStatusResponse = 256 << 20
	// MaxTimeResponse bounds a time answer.
	MaxTimeResponse = 16 << 10
)

// BundlePath is the path of the download of a bundle kind.
func BundlePath(v int, kind trust.Kind) string { return fmt.Sprintf("/v%d/bundles/%s", v, kind) }

// StatusPath is the path of the status download, since version since.
func StatusPath(v int, since uint64) string { return fmt.Sprintf("/v%d/status?since=%d", v, since) }

// TimePath is the path of the signed time, for nonce.
func TimePath(v int, nonce []byte) string {
	return fmt.Sprintf("/v%d/time?nonce=%s", v, hex.EncodeToString(nonce))
}

// DownloadOptions configure a DownloadHandler.
type DownloadOptions struct {
	Bundles BundleSource  // required
	Auth    Authenticator // required
	// TimeKey signs the centre's time: the online signing key whose
	// delegation (TimeDelegation, nil when TimeKey is the root) lets it
	// sign status deltas. Without it /time answers 404.
	TimeKey        crypto.Signer
	TimeDelegation *trust.Delegation
	// Now is the centre's clock (time.Now when nil).
	Now func() time.Time
	// Logger gets repository failures (slog.Default when nil).
	Logger *slog.Logger
}

// DownloadHandler serves the downloads of every protocol version from
// protocol.MinVersion to protocol.Version:
//
//	GET /v{N}/bundles/{kind}      a bundle file; ETag is its digest and
//	                              If-None-Match answers 304
//	GET /v{N}/status?since=V      a StatusResponse: the deltas after V, or
//	                              the base and its deltas; 304 when V is current
//	GET /v{N}/time?nonce=HEX      a TimeResponse: the centre's time and the
//	                              nonce, signed by TimeKey
type DownloadHandler struct {
	opts DownloadOptions
	mux  *http.ServeMux
	kid  []byte
}

var _ http.Handler = (*DownloadHandler)(nil)

// NewDownload returns a DownloadHandler.
func NewDownload(opts DownloadOptions) (*DownloadHandler, error) {
	if opts.Bundles == nil || opts.Auth == nil {
		return nil, errors.New("server: new download: Bundles and Auth are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &DownloadHandler{opts: opts, mux: http.NewServeMux()}
	if opts.TimeKey != nil {
		kid, err := trust.KeyIDOfPublic(opts.TimeKey.Public())
		if err != nil {
			return nil, fmt.Errorf("server: new download: time key: %w", err)
		}
		h.kid = kid[:]
	}
	for v := protocol.MinVersion; v <= protocol.Version; v++ {
		h.mux.HandleFunc(fmt.Sprintf("GET /v%d/bundles/{kind}", v), h.bundle)
		h.mux.HandleFunc(fmt.Sprintf("GET /v%d/status", v), h.status)
		h.mux.HandleFunc(fmt.Sprintf("GET /v%d/time", v), h.time)
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *DownloadHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *DownloadHandler) auth(w http.ResponseWriter, r *http.Request) bool {
	if _, err := h.opts.Auth.Device(r); err != nil {
		http.Error(w, "the terminal is not identified: enrol it and use its client certificate", http.StatusUnauthorized)
		return false
	}
	return true
}

func (h *DownloadHandler) bundle(w http.ResponseWriter, r *http.Request) {
	if !h.auth(w, r) {
		return
	}
	kind := trust.Kind(r.PathValue("kind"))
	if !kind.Valid() || kind == trust.KindStatusBase || kind == trust.KindStatusDelta {
		http.Error(w, fmt.Sprintf("no bundle kind %q here: trust, policy and config are served here, status at /status", kind), http.StatusNotFound)
		return
	}
	p, err := h.opts.Bundles.Latest(kind)
	if err != nil {
		h.opts.Logger.Error("sync: bundle repository", "kind", kind, "err", err)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "the centre cannot read its bundles now: the terminal retries", http.StatusServiceUnavailable)
		return
	}
	if p == nil {
		w.Header().Set(HeaderState, StateNotPublished)
		http.Error(w, fmt.Sprintf("no %s bundle is published yet", kind), http.StatusNotFound)
		return
	}
	etag := p.ETag()
	w.Header().Set("ETag", etag)
	w.Header().Set("X-Sentinel-Version", strconv.FormatUint(p.Version, 10))
	if matchETag(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", BundleType)
	w.Header().Set("Content-Length", strconv.Itoa(len(p.Data)))
	w.Write(p.Data)
}

// matchETag reports whether an If-None-Match header lists etag.
func matchETag(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func (h *DownloadHandler) status(w http.ResponseWriter, r *http.Request) {
	if !h.auth(w, r) {
		return
	}
	var since uint64
	if s := r.URL.Query().Get("since"); s != "" {
		var err error
		if since, err = strconv.ParseUint(s, 10, 64); err != nil {
			http.Error(w, "since: want the status version the terminal holds (0 for none)", http.StatusBadRequest)
			return
		}
	}
	list, err := h.opts.Bundles.StatusSince(since)
	if err != nil {
		h.opts.Logger.Error("sync: status repository", "since", since, "err", err)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "the centre cannot read its status bundles now: the terminal retries", http.StatusServiceUnavailable)
		return
	}
	if len(list) == 0 {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	sr := &StatusResponse{Version: protocol.Version}
	for _, p := range list {
		sr.Bundles = append(sr.Bundles, p.Data)
	}
	b, err := EncodeStatusResponse(sr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", StatusType)
	w.Write(b)
}

func (h *DownloadHandler) time(w http.ResponseWriter, r *http.Request) {
	if !h.auth(w, r) {
		return
	}
	if h.opts.TimeKey == nil {
		w.Header().Set(HeaderState, StateNoTime)
		http.Error(w, "this centre does not sign its time: run serve with --key and --delegation, without --no-time", http.StatusNotFound)
		return
	}
	nonce, err := hex.DecodeString(r.URL.Query().Get("nonce"))
	if err != nil || len(nonce) < MinNonce || len(nonce) > MaxNonce {
		http.Error(w, fmt.Sprintf("nonce: want %d to %d random bytes in hex", MinNonce, MaxNonce), http.StatusBadRequest)
		return
	}
	payload, err := encMode.Marshal(timePayload{Time: h.opts.Now().UnixMilli(), Nonce: nonce})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	msg, err := cose.Sign(nil, h.opts.TimeKey, h.kid, payload)
	if err != nil {
		h.opts.Logger.Error("sync: sign time", "err", err)
		http.Error(w, "the centre cannot sign its time now", http.StatusInternalServerError)
		return
	}
	tr := TimeResponse{Sign1: msg}
	if h.opts.TimeDelegation != nil {
		tr.Delegation = h.opts.TimeDelegation.Raw
	}
	b, err := encMode.Marshal(tr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", TimeType)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// Wire formats of the download answers.

// StatusResponse is the answer to a status download: a deterministic CBOR
// map {1: protocol version, 2: [bstr bundle files]}, the files in the
// order a terminal applies them (a status-base first when the terminal
// needs one, then status-deltas in version order).
type StatusResponse struct {
	Version int      `cbor:"1,keyasint"`
	Bundles [][]byte `cbor:"2,keyasint"`
}

// TimeResponse is the answer to a time request: a deterministic CBOR map
// {1: delegation, 2: COSE_Sign1}. The delegation (empty when the root
// signed) is the signing key's certificate from the operator root, which
// must allow status-delta; the COSE_Sign1 (kid: the key's KeyID) signs the
// map {1: unix milliseconds, 2: the request's nonce}.
type TimeResponse struct {
	Delegation []byte `cbor:"1,keyasint,omitempty"`
	Sign1      []byte `cbor:"2,keyasint"`
}

type timePayload struct {
	Time  int64  `cbor:"1,keyasint"`
	Nonce []byte `cbor:"2,keyasint"`
}

// ErrDownload matches every malformed download answer.
var ErrDownload = errors.New("server: malformed download answer")

var (
	encMode = func() cbor.EncMode {
		m, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
	decMode = func() cbor.DecMode {
		m, err := cbor.DecOptions{
			DupMapKey:         cbor.DupMapKeyEnforcedAPF,
			IndefLength:       cbor.IndefLengthForbidden,
			MaxArrayElements:  1 << 16,
			MaxMapPairs:       16,
			MaxNestedLevels:   4,
			ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		}.DecMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
)

// EncodeStatusResponse encodes r.
func EncodeStatusResponse(r *StatusResponse) ([]byte, error) {
	b, err := encMode.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("server: encode status response: %w", err)
	}
	return b, nil
}

// DecodeStatusResponse decodes a status answer strictly: the canonical
// encoding of exactly its fields, a version this package serves, and at
// least one bundle file. Nothing is verified: open each file with
// trust.OpenBundle.
func DecodeStatusResponse(b []byte) (*StatusResponse, error) {
	var r StatusResponse
	if err := decMode.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: status: %v", ErrDownload, err)
	}
	if r.Version < protocol.MinVersion || r.Version > protocol.Version {
		return nil, fmt.Errorf("%w: status: version %d not served", ErrDownload, r.Version)
	}
	if len(r.Bundles) == 0 {
		return nil, fmt.Errorf("%w: status: no bundles", ErrDownload)
	}
	for i, f := range r.Bundles {
		if !trust.IsBundle(f) {
			return nil, fmt.Errorf("%w: status: item %d is not a bundle file", ErrDownload, i)
		}
	}
	if re, err := encMode.Marshal(&r); err != nil || string(re) != string(b) {
		return nil, fmt.Errorf("%w: status: not the canonical encoding", ErrDownload)
	}
	return &r, nil
}

// Errors of a time answer.
var (
	// ErrTimeNonce: the signed time answers another request (a replay).
	ErrTimeNonce = errors.New("server: the signed time does not answer this request: a replayed or misdirected answer")
	// ErrTimeSigner: the time's signature or its key's delegation does
	// not verify under the pinned root, or the key may not sign status.
	ErrTimeSigner = errors.New("server: the signed time is not signed by a key the operator root delegated for status")
)

// VerifyTime checks a time answer against the pinned operator root and the
// nonce the terminal sent, and returns the centre's time. A revoked
// signing key (revoked, from the trust bundles) is refused. The
// delegation's validity is judged at the signed time itself: the
// terminal's own clock is what the answer is meant to set.
func VerifyTime(b []byte, root crypto.PublicKey, nonce []byte, revoked []trust.KeyID) (time.Time, error) {
	if len(b) > MaxTimeResponse {
		return time.Time{}, fmt.Errorf("%w: time: %d bytes", ErrDownload, len(b))
	}
	var r TimeResponse
	if err := decMode.Unmarshal(b, &r); err != nil {
		return time.Time{}, fmt.Errorf("%w: time: %v", ErrDownload, err)
	}
	msg, err := cose.Parse(r.Sign1)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time: %v", ErrDownload, err)
	}
	var p timePayload
	if err := decMode.Unmarshal(msg.Payload, &p); err != nil {
		return time.Time{}, fmt.Errorf("%w: time payload: %v", ErrDownload, err)
	}
	key := root
	var d *trust.Delegation
	if len(r.Delegation) > 0 {
		if d, err = trust.ParseDelegation(r.Delegation, root); err != nil {
			return time.Time{}, fmt.Errorf("%w: %w", ErrTimeSigner, err)
		}
		key = d.Public
		if string(msg.KID()) != string(d.KID[:]) {
			return time.Time{}, fmt.Errorf("%w: signed by key %x, delegated key %s", ErrTimeSigner, msg.KID(), d.KID)
		}
	}
	if err := msg.Verify(key); err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrTimeSigner, err)
	}
	if string(p.Nonce) != string(nonce) {
		return time.Time{}, ErrTimeNonce
	}
	t := time.UnixMilli(p.Time).UTC()
	if d != nil {
		ok := false
		for _, k := range d.Kinds {
			ok = ok || k == trust.KindStatusDelta
		}
		if !ok {
			return time.Time{}, fmt.Errorf("%w: its delegation does not allow status-delta", ErrTimeSigner)
		}
		for _, k := range revoked {
			if k == d.KID {
				return time.Time{}, fmt.Errorf("%w: %w", ErrTimeSigner, trust.ErrDelegationRevoked)
			}
		}
		if !d.Validity.Contains(t) {
			return time.Time{}, fmt.Errorf("%w: %w", ErrTimeSigner, trust.ErrDelegationValidity)
		}
	}
	return t, nil
}

// HeaderState tells a terminal why a download has nothing for it, so that
// an ordinary state (nothing published yet) is not mistaken for a fault.
const (
	HeaderState       = "Sentinel-State"
	StateNotPublished = "not-published"
	// StateNoTime: the centre does not sign its time (a 404 of /time).
	StateNoTime = "no-signed-time"
)
