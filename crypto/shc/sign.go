package shc

import (
	"bytes"
	"compress/flate"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"sentinel/crypto/cose"
	"sentinel/crypto/trust"
)

// Sign issues a SMART Health Card as a compact JWS, for tests, demos and
// `sentinel-central issue`: the payload {"iss", "nbf", "exp", "vc"} is
// compressed with raw DEFLATE and signed with ES256 under key. kid ""
// means the key's thumbprint, as the specification requires; exp zero
// means none. vc is marshalled with encoding/json and should hold "type"
// and "credentialSubject" (and "rid" when the card can be revoked).
func Sign(key *ecdsa.PrivateKey, kid, iss string, vc any, nbf, exp time.Time) (string, error) {
	if nbf.IsZero() {
		return "", errors.New("shc: sign: nbf is required")
	}
	p := struct {
		Iss string      `json:"iss"`
		Nbf json.Number `json:"nbf"`
		Exp json.Number `json:"exp,omitempty"`
		VC  any         `json:"vc"`
	}{Iss: iss, Nbf: unixNumber(nbf), VC: vc}
	if !exp.IsZero() {
		p.Exp = unixNumber(exp)
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("shc: sign: encode payload: %w", err)
	}
	return SignPayload(key, kid, payload)
}

// unixNumber writes t as seconds since 1970, with milliseconds when t has
// them.
func unixNumber(t time.Time) json.Number {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return json.Number(strconv.FormatInt(ms/1000, 10))
	}
	return json.Number(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64))
}

// SignPayload signs an already encoded JSON payload as a SMART Health Card
// JWS. It does not check the payload: tests use it to sign malformed cards.
func SignPayload(key *ecdsa.PrivateKey, kid string, payload []byte) (string, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return "", errors.New("shc: sign: ES256 needs a P-256 private key")
	}
	if kid == "" {
		kid = trust.Thumbprint(&key.PublicKey)
	}
	hdr, err := json.Marshal(struct {
		Zip string `json:"zip"`
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{"DEF", "ES256", kid})
	if err != nil {
		return "", fmt.Errorf("shc: sign: encode header: %w", err)
	}
	var z bytes.Buffer
	w, err := flate.NewWriter(&z, flate.BestCompression)
	if err != nil {
		return "", fmt.Errorf("shc: sign: %w", err)
	}
	if _, err := w.Write(payload); err != nil {
		return "", fmt.Errorf("shc: sign: compress: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("shc: sign: compress: %w", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hdr) + "." + enc.EncodeToString(z.Bytes())
	sig, err := cose.SignRaw(nil, key, cose.AlgES256, []byte(input))
	if err != nil {
		return "", fmt.Errorf("shc: sign: %w", err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}
