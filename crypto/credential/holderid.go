package credential

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrHolderID is wrapped by ParseHolderID's errors: what a person typed is
// not a holder identifier.
var ErrHolderID = errors.New("not a holder identifier")

// MaxIssuerID is the longest native issuer id ("ZJ", "HB-WH").
const MaxIssuerID = 16

// ParseHolderID parses a holder identifier that a person typed (an ops
// command's --holder, the ops API's trace): exactly "ISSUER:INDEX", the
// issuer 1 to 16 characters of A-Z, 0-9 and '-' and the index a decimal
// number from 0 to 4294967295, or "p:" and the 32 hex digits of a
// pseudonym. Unlike ParseHolder it refuses the empty string and anything
// that is not one of these two forms (a name, a national ID number), so
// that such text is refused before it is searched for or written to an
// audit log. Every command that takes a holder uses it. Its errors never
// repeat what was typed, which may be a person's name.
//
// The result's String is the canonical form the stores keep: "ZJ:00012"
// becomes "ZJ:12" and upper-case hex becomes lower-case.
func ParseHolderID(s string) (Holder, error) {
	const want = "want ISSUER:INDEX (as ZJ:1024) or p: and the 32 hex digits of a pseudonym; never a name or an ID number"
	if s == "" {
		return Holder{}, fmt.Errorf("%w: empty: %s", ErrHolderID, want)
	}
	if len(s) > MaxIssuerID+1+10 && !strings.HasPrefix(s, "p:") {
		return Holder{}, fmt.Errorf("%w: too long: %s", ErrHolderID, want)
	}
	if hexs, ok := strings.CutPrefix(s, "p:"); ok {
		b, err := hex.DecodeString(hexs)
		if err != nil || len(b) != PseudonymSize {
			return Holder{}, fmt.Errorf("%w: a pseudonym is p: and %d hex digits (0-9, a-f)", ErrHolderID, 2*PseudonymSize)
		}
		h := Holder{Kind: HolderPseudonym}
		copy(h.Pseudonym[:], b)
		return h, nil
	}
	issuer, index, ok := strings.Cut(s, ":")
	if !ok {
		return Holder{}, fmt.Errorf("%w: no ':' between issuer and index: %s", ErrHolderID, want)
	}
	if err := validIssuerID(issuer); err != nil {
		return Holder{}, fmt.Errorf("%w: %v: %s", ErrHolderID, err, want)
	}
	if index == "" || strings.Trim(index, "0123456789") != "" {
		return Holder{}, fmt.Errorf("%w: the index is not a decimal number: %s", ErrHolderID, want)
	}
	n, err := strconv.ParseUint(index, 10, 32)
	if err != nil {
		return Holder{}, fmt.Errorf("%w: the index is over 4294967295", ErrHolderID)
	}
	return Holder{Kind: HolderNative, Issuer: issuer, Index: uint32(n)}, nil
}

// validIssuerID checks a native issuer id as trust.ValidIssuer does.
func validIssuerID(s string) error {
	if len(s) == 0 || len(s) > MaxIssuerID {
		return fmt.Errorf("the issuer is not 1 to %d characters", MaxIssuerID)
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return errors.New("the issuer may hold only A-Z, 0-9 and '-'")
		}
	}
	return nil
}
