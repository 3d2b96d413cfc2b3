package demo

import (
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/passage"
	"sentinel/internal/status"
)

// revokedWant is what the code that turned red after issue gets.
const revokedWant = passage.Deny

// statusBundle signs the status list: the holder of the "revoked" code
// turned red five minutes after the code was issued.
func statusBundle(k *keys, now time.Time, hdr func(trust.Kind, []byte) trust.Bundle) ([]byte, error) {
	b := status.NewBuilder()
	if err := b.SetNative("ZJ", idxRevoked, status.Entry{Status: status.Red, Effective: now.Add(-5 * time.Minute), Until: now.Add(14 * 24 * time.Hour), Reason: 1}); err != nil {
		return nil, err
	}
	payload, err := b.MarshalBase()
	if err != nil {
		return nil, err
	}
	return trust.SealBundle(k.online, k.delegation, hdr(trust.KindStatusBase, payload))
}
