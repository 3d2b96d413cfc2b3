package opsapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"sentinel/internal/central"
)

// TokensFile is where the role tokens were kept, as JSON in the centre's
// data directory, before they moved into the central store. A data
// directory that still has one has it imported on the store's first open
// (package legacy); ParseTokens reads it.
const TokensFile = "ops-tokens.json"

// Role is what a token may do.
type Role = central.OpsRole

// Roles of the operator API.
const (
	RoleOps    = central.RoleOps    // fleet, export, trace
	RoleAdmin  = central.RoleAdmin  // backup
	RoleIssuer = central.RoleIssuer // the issuance endpoint
)

// Errors of the token file and of authentication.
var (
	// ErrTokens: the token file cannot be used.
	ErrTokens = errors.New("opsapi: invalid token file")
	// ErrNoToken: the request carries no bearer token.
	ErrNoToken = errors.New("opsapi: no bearer token: send Authorization: Bearer TOKEN")
	// ErrUnknownToken: the token is not in the token file.
	ErrUnknownToken = errors.New("opsapi: unknown token")
	// ErrRole: the token's role may not make this call.
	ErrRole = errors.New("opsapi: the token's role may not make this call")
)

// Token is one entry of the token file: the token's name (recorded as the
// operator), its role and the SHA-256 of the token, in hex.
type Token struct {
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	SHA256 string `json:"sha256"`
}

type tokenFile struct {
	Tokens []Token `json:"tokens"`
}

// Tokens is a checked set of role tokens.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	name string
	role Role
	sum  [sha256.Size]byte
}

// Caller is the holder of an accepted token.
type Caller struct {
	Name string
	Role Role
}

// HashToken returns the hex SHA-256 of a token, as the token file holds it.
func HashToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// NewTokens checks ts: every entry needs a name, a known role and a
// SHA-256 in hex; names and hashes are unique.
func NewTokens(ts []Token) (*Tokens, error) {
	var errs []error
	names := map[string]bool{}
	sums := map[[sha256.Size]byte]bool{}
	out := &Tokens{}
	for i, t := range ts {
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("entry %d: no name", i+1))
		} else if names[t.Name] {
			errs = append(errs, fmt.Errorf("entry %d: name %q twice", i+1, t.Name))
		}
		names[t.Name] = true
		switch t.Role {
		case RoleOps, RoleAdmin, RoleIssuer:
		default:
			errs = append(errs, fmt.Errorf("entry %d (%s): role %q: want ops, admin or issuer", i+1, t.Name, t.Role))
		}
		var e tokenEntry
		b, err := hex.DecodeString(strings.TrimSpace(t.SHA256))
		if err != nil || len(b) != sha256.Size {
			errs = append(errs, fmt.Errorf("entry %d (%s): sha256: want 64 hex digits (printf %%s TOKEN | sha256sum)", i+1, t.Name))
			continue
		}
		copy(e.sum[:], b)
		if sums[e.sum] {
			errs = append(errs, fmt.Errorf("entry %d (%s): the same token as another entry", i+1, t.Name))
		}
		sums[e.sum] = true
		e.name, e.role = t.Name, t.Role
		out.entries = append(out.entries, e)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrTokens, errors.Join(errs...))
	}
	return out, nil
}

// ParseTokens reads a token file's JSON.
func ParseTokens(data []byte) (*Tokens, error) {
	var f tokenFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokens, err)
	}
	return NewTokens(f.Tokens)
}

// TokenSource gives the role tokens in force now.
type TokenSource interface {
	CurrentTokens(ctx context.Context) (*Tokens, error)
}

var (
	_ TokenSource = (*Tokens)(nil)
	_ TokenSource = StoreTokens{}
)

// CurrentTokens implements TokenSource: a fixed set.
func (t *Tokens) CurrentTokens(context.Context) (*Tokens, error) { return t, nil }

// StoreTokens is the TokenSource of the central store: it reads the tokens
// at each call, so that a token added or removed (sentinel-central tokens)
// counts from the next request on.
type StoreTokens struct {
	Store central.OpsTokens
}

// CurrentTokens implements TokenSource.
func (s StoreTokens) CurrentTokens(ctx context.Context) (*Tokens, error) {
	ts, err := s.Store.ListOpsTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("opsapi: tokens: %w", err)
	}
	out := &Tokens{entries: make([]tokenEntry, len(ts))}
	for i, t := range ts {
		out.entries[i] = tokenEntry{name: t.Name, role: t.Role, sum: t.SHA256}
	}
	return out, nil
}

// Stored returns the tokens as the central store keeps them.
func (t *Tokens) Stored() []central.OpsToken {
	out := make([]central.OpsToken, len(t.entries))
	for i, e := range t.entries {
		out[i] = central.OpsToken{Name: e.name, Role: e.role, SHA256: e.sum}
	}
	return out
}

// Len returns the number of tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// Lookup finds the token's entry. It hashes token and compares the hash
// with every entry in constant time, without stopping at a match.
func (t *Tokens) Lookup(token string) (Caller, error) {
	if token == "" {
		return Caller{}, ErrNoToken
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], t.entries[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Caller{}, ErrUnknownToken
	}
	e := t.entries[found]
	return Caller{Name: e.name, Role: e.role}, nil
}

// Authenticate returns the caller of r's bearer token if its role is role.
// The error wraps ErrNoToken, ErrUnknownToken or ErrRole; with ErrRole the
// caller is returned too, for the log and the metrics.
func (t *Tokens) Authenticate(r *http.Request, role Role) (Caller, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return Caller{}, ErrNoToken
	}
	c, err := t.Lookup(strings.TrimSpace(tok))
	if err != nil {
		return Caller{}, err
	}
	if c.Role != role {
		return c, fmt.Errorf("%w: %s has role %s, the call needs %s", ErrRole, c.Name, c.Role, role)
	}
	return c, nil
}
