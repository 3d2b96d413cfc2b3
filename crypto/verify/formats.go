package verify

import (
	"bytes"

	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/shc"
)

// prefixJWS starts every compact JWS: base64url of `{"`. A SMART Health
// Card read from a file, or joined from chunks, arrives as a bare JWS.
var prefixJWS = []byte("eyJ")

func (v *Verifier) verify(f credential.Format, payload []byte, opts Options) (*credential.Credential, error) {
	switch f {
	case credential.FormatNative:
		u, err := healthcode.DecodeBytes(payload)
		if err != nil {
			return nil, err
		}
		return u.Verify(v.store, healthcode.VerifyOptions{Now: opts.Now, Tolerance: opts.Tolerance})
	case credential.FormatDCC:
		return v.dcc.Verify(payload, dcc.Options{Now: opts.Now, Tolerance: opts.Tolerance, SkipSchema: opts.SkipSchema})
	case credential.FormatSHC:
		var u *shc.Unverified
		var err error
		if bytes.HasPrefix(payload, prefixJWS) {
			u, err = shc.ParseJWS(string(payload))
		} else {
			u, err = shc.Decode(string(payload))
		}
		if err != nil {
			return nil, err
		}
		return u.Verify(v.store, opts.Now)
	}
	return nil, credential.Reject("", credential.ReasonUnknownFormat, "format %q", f)
}
