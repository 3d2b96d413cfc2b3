package central

import (
	"context"
	"errors"
	"fmt"
)

// OpsRole is what an operator API token may do.
type OpsRole string

// Roles of the operator API.
const (
	RoleOps    OpsRole = "ops"    // fleet, export, trace
	RoleAdmin  OpsRole = "admin"  // backup
	RoleIssuer OpsRole = "issuer" // the issuance endpoint
)

// Errors of the operator token store.
var (
	// ErrOpsToken is wrapped by the refusal of a malformed token entry
	// (no name, an unknown role, no hash) or of one whose hash another
	// name holds.
	ErrOpsToken = errors.New("central: invalid operator token")
	// ErrUnknownOpsToken: no token has this name.
	ErrUnknownOpsToken = errors.New("central: no operator token of that name")
)

// OpsToken is an operator API token as the store keeps it: its name
// (recorded as the operator), its role and the SHA-256 of the token's
// value, never the value.
type OpsToken struct {
	Name   string
	Role   OpsRole
	SHA256 [32]byte
}

// CheckOpsToken checks a token entry before a store keeps it; the error
// wraps ErrOpsToken.
func CheckOpsToken(t OpsToken) error {
	switch {
	case t.Name == "" || len(t.Name) > 128:
		return fmt.Errorf("%w: a name of 1 to 128 bytes is required", ErrOpsToken)
	case t.SHA256 == [32]byte{}:
		return fmt.Errorf("%w: %s has no hash", ErrOpsToken, t.Name)
	}
	switch t.Role {
	case RoleOps, RoleAdmin, RoleIssuer:
		return nil
	}
	return fmt.Errorf("%w: %s: role %q: want ops, admin or issuer", ErrOpsToken, t.Name, t.Role)
}

// OpsTokens keeps the operator API's role tokens.
type OpsTokens interface {
	// PutOpsToken adds t, or replaces the token of the same name (a new
	// secret or role). A hash that another name holds is refused with
	// ErrOpsToken.
	PutOpsToken(ctx context.Context, t OpsToken) error
	// RemoveOpsToken removes the token named name (ErrUnknownOpsToken
	// when there is none).
	RemoveOpsToken(ctx context.Context, name string) error
	// ListOpsTokens lists the tokens by name.
	ListOpsTokens(ctx context.Context) ([]OpsToken, error)
}
