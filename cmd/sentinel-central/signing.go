package main

import (
	"crypto"
	"fmt"
	"os"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/cli"
)

// The signing flags of every command that signs a bundle or the centre's
// time (bundles publish, status set/revoke/publish, trust build, serve):
// an online signing key and the delegation by which the operator root
// lets it sign, or the root's own key without a delegation.

// loadSigningKey reads the private key in keyPath and, when delPath is
// given, the delegation in it, and checks what terminals would check of
// the pair: the root signed the delegation, and it delegates this very
// key. Without a delegation the key must be the root itself. keyFlag and
// delFlag name the flags in the errors ("--key", "--delegation"). Whether
// the delegation is valid now and for which kinds is the caller's to
// check (serve checks it up front; publishing checks the signed bundle as
// a terminal would).
func loadSigningKey(keyFlag, keyPath, delFlag, delPath string, root crypto.PublicKey) (crypto.Signer, *trust.Delegation, error) {
	switch {
	case root == nil && delPath != "":
		return nil, nil, cli.Usagef("--root-pub FILE is required with %s, to check the delegation", delFlag)
	case root == nil:
		return nil, nil, cli.Usagef("--root-pub FILE is required with %s, to check that it is the operator root", keyFlag)
	}
	k, err := readPrivateKey(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyFlag, err)
	}
	if delPath == "" {
		if !samePublic(k.Public(), root) {
			return nil, nil, cli.Usagef("%s %s is not the operator root: give its %s FILE from `sentinel-central trust delegate`", keyFlag, keyPath, delFlag)
		}
		return k, nil, nil
	}
	raw, err := os.ReadFile(delPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", delFlag, err)
	}
	d, err := trust.ParseDelegation(raw, root)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", delFlag, delPath, err)
	}
	if !samePublic(k.Public(), d.Public) {
		return nil, nil, fmt.Errorf("%s %s delegates key %s, not the key in %s %s: give the delegation made for this key", delFlag, delPath, d.KID, keyFlag, keyPath)
	}
	return k, d, nil
}

// samePublic reports whether a and b are the same public key.
func samePublic(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// parseFreshGrace reads the --fresh and --grace flags of a signed bundle:
// durations with "d" for days, grace no shorter than fresh.
func parseFreshGrace(fresh, grace string) (freshD, graceD time.Duration, err error) {
	if freshD, err = parseDays(fresh); err != nil {
		return 0, 0, cli.Usagef("--fresh: %v", err)
	}
	if graceD, err = parseDays(grace); err != nil {
		return 0, 0, cli.Usagef("--grace: %v", err)
	}
	if graceD < freshD {
		return 0, 0, cli.Usagef("--grace %s is shorter than --fresh %s: grace counts from the issue time too", grace, fresh)
	}
	return freshD, graceD, nil
}
