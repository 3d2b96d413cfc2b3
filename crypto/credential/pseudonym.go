package credential

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Pseudonym derives the holder pseudonym of an EU DCC or SHC holder:
// HMAC-SHA-256 under the deployment's pseudonym key over the normalised
// family name, given name and birth date, truncated to 16 bytes.
//
// Names are normalised so that the same person gets the same pseudonym
// whatever the transliteration step of the issuer: decomposed (NFKD),
// combining marks dropped, upper-cased, and every run of characters other
// than letters and digits folded to one '<' (the ICAO 9303 filler that
// EU DCC's fnt and gnt fields already use), trimmed of '<' at both ends.
// The birth date is used as written (ISO 8601, possibly partial: "1964",
// "1964-08").
//
// The input is domain-separated and length-safe: fields are joined with a
// NUL byte, which normalisation never produces.
func Pseudonym(key []byte, family, given, birthDate string) [PseudonymSize]byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("sentinel-holder-v1\x00"))
	mac.Write([]byte(NormaliseName(family)))
	mac.Write([]byte{0})
	mac.Write([]byte(NormaliseName(given)))
	mac.Write([]byte{0})
	mac.Write([]byte(strings.TrimSpace(birthDate)))
	var out [PseudonymSize]byte
	copy(out[:], mac.Sum(nil))
	return out
}

// NormaliseName folds a name to the form Pseudonym hashes; see there.
func NormaliseName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	filler := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if filler && b.Len() > 0 {
				b.WriteByte('<')
			}
			filler = false
			b.WriteRune(unicode.ToUpper(r))
		default:
			filler = true
		}
	}
	return b.String()
}

// MaskName returns the masked display name: the family name followed by
// " *", or the first letter of the given name and " *" when there is no
// family name. Only the masked form is ever kept.
func MaskName(family, given string) string {
	family = strings.TrimSpace(family)
	if family != "" {
		return family + " *"
	}
	given = strings.TrimSpace(given)
	if given == "" {
		return ""
	}
	r := []rune(given)
	return string(r[0]) + " *"
}
