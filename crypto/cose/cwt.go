package cose

import (
	"fmt"
	"math"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// CWT claim keys (RFC 8392, RFC 8747) and the EU DCC's hcert claim.
const (
	ClaimIss   = 1
	ClaimSub   = 2
	ClaimAud   = 3
	ClaimExp   = 4
	ClaimNbf   = 5
	ClaimIat   = 6
	ClaimCti   = 7
	ClaimCnf   = 8
	ClaimHCert = -260
)

// NumericDate is a CWT time: seconds since the epoch. It decodes from a
// CBOR integer or, as some EU DCC issuers write it, a float.
type NumericDate int64

// Time returns the date as a time.Time in UTC; the zero NumericDate gives
// the zero time.
func (d NumericDate) Time() time.Time {
	if d == 0 {
		return time.Time{}
	}
	return time.Unix(int64(d), 0).UTC()
}

// UnmarshalCBOR accepts an integer or a finite float.
func (d *NumericDate) UnmarshalCBOR(b []byte) error {
	if len(b) > 0 {
		switch b[0] >> 5 {
		case 0, 1:
			var n int64
			if err := decMode.Unmarshal(b, &n); err != nil {
				return fmt.Errorf("numeric date: %w", err)
			}
			*d = NumericDate(n)
			return nil
		case 7:
			var f float64
			if err := decMode.Unmarshal(b, &f); err != nil {
				return fmt.Errorf("numeric date: %w", err)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64/2 || f < math.MinInt64/2 {
				return fmt.Errorf("numeric date: %v is not a time", f)
			}
			*d = NumericDate(math.Floor(f))
			return nil
		}
	}
	return fmt.Errorf("numeric date: not a number")
}

// Claims are the registered CWT claims. Private claims stay in the raw
// payload for the format's own decoding.
type Claims struct {
	Iss string          `cbor:"1,keyasint,omitempty"`
	Sub string          `cbor:"2,keyasint,omitempty"`
	Exp NumericDate     `cbor:"4,keyasint,omitempty"`
	Nbf NumericDate     `cbor:"5,keyasint,omitempty"`
	Iat NumericDate     `cbor:"6,keyasint,omitempty"`
	Cti []byte          `cbor:"7,keyasint,omitempty"`
	Cnf cbor.RawMessage `cbor:"8,keyasint,omitempty"`
}

// ParseClaims decodes the registered claims of a CWT payload.
func ParseClaims(payload []byte) (*Claims, error) {
	if len(payload) == 0 || payload[0]>>5 != 5 {
		return nil, fmt.Errorf("%w: CWT claims are not a map", ErrMalformed)
	}
	c := new(Claims)
	if err := decMode.Unmarshal(payload, c); err != nil {
		return nil, fmt.Errorf("%w: CWT claims: %v", ErrMalformed, err)
	}
	return c, nil
}
