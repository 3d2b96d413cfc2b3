package healthcode

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"time"

	"sentinel/crypto/base45"
	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/internal/inflate"
)

// Presenter makes the rolling codes of one credential on the holder's
// phone. It is safe for concurrent use.
type Presenter struct {
	cred   []byte   // the credential's COSE bytes
	hash   [32]byte // their SHA-256
	holder crypto.Signer
	alg    int64
	// Rand is the randomness for ES256 holder signatures; nil means
	// crypto/rand.
	Rand io.Reader
}

// NewPresenter prepares rolling presentations of credential (a static
// "HCN1:" code as issued) signed with the holder's private key, which must
// match the credential's holder key. The credential is not verified: the
// phone trusts what its issuer sent it.
func NewPresenter(credentialText string, holder crypto.Signer) (*Presenter, error) {
	cred, err := credentialBytes(credentialText)
	if err != nil {
		return nil, err
	}
	var u Unverified
	if err := u.decodeCBOR(cred); err != nil {
		return nil, fmt.Errorf("healthcode: present: %w", err)
	}
	if u.rolling {
		return nil, fmt.Errorf("healthcode: present: the code is already a rolling presentation; give the credential as issued")
	}
	if u.claims.holder == nil {
		return nil, ErrPaper
	}
	if !samePublic(u.claims.holder, holder.Public()) {
		return nil, ErrNotHolder
	}
	p := &Presenter{cred: cred, hash: sha256.Sum256(cred), holder: holder}
	switch holder.Public().(type) {
	case ed25519.PublicKey:
		p.alg = cose.AlgEdDSA
	case *ecdsa.PublicKey:
		p.alg = cose.AlgES256
	}
	return p, nil
}

// Code returns the rolling code for time t: "HCN1:" and the Base45 of the
// zlib-compressed CBOR array [credential COSE bytes, time step, holder
// signature].
func (p *Presenter) Code(t time.Time) (string, error) {
	return p.code(StepOf(t))
}

func (p *Presenter) code(step uint64) (string, error) {
	var msg [rollingMsgLen]byte
	rollingMessage(msg[:0], step, &p.hash)
	sig, err := cose.SignRaw(p.Rand, p.holder, p.alg, msg[:])
	if err != nil {
		return "", fmt.Errorf("healthcode: present: %w", err)
	}
	b := make([]byte, 0, len(p.cred)+len(sig)+16)
	b = append(b, 0x83)
	b = appendHead(b, majorBytes, uint64(len(p.cred)))
	b = append(b, p.cred...)
	b = appendHead(b, majorUint, step)
	b = appendHead(b, majorBytes, uint64(len(sig)))
	b = append(b, sig...)
	return encodeText(b), nil
}

// Present returns the rolling code of credential for time t, signed with
// the holder's private key. See Presenter.
func Present(credentialText string, holder crypto.Signer, t time.Time) (string, error) {
	p, err := NewPresenter(credentialText, holder)
	if err != nil {
		return "", err
	}
	return p.Code(t)
}

// credentialBytes returns the COSE bytes of a static code, unverified.
func credentialBytes(text string) ([]byte, error) {
	if len(text) > credential.MaxPayload || !strings.HasPrefix(text, Prefix) {
		return nil, fmt.Errorf("healthcode: present: not a native code (want %q and at most %d characters)", Prefix, credential.MaxPayload)
	}
	z, err := base45.DecodeString(text[len(Prefix):])
	if err != nil {
		return nil, fmt.Errorf("healthcode: present: %w", err)
	}
	b, err := inflate.Zlib(nil, z, credential.MaxInflated)
	if err != nil {
		return nil, fmt.Errorf("healthcode: present: %w", err)
	}
	return b, nil
}
