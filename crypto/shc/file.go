package shc

import "sentinel/crypto/credential"

// Limits of the .smart-health-card file form.
const (
	// MaxFile is the largest .smart-health-card file read.
	MaxFile = 1 << 20
	// MaxFileCards is the most JWS one file may hold.
	MaxFileCards = 100
)

// ParseFile reads the .smart-health-card file form,
// {"verifiableCredential": [jws, ...]}, and returns each JWS for
// [ParseJWS]. A file may hold several cards. The strings are returned as
// they are; ParseJWS judges them. Characters around the JSON object, but
// for one final line break, are refused: a file that was cut or pasted
// into is not trusted to be whole.
func ParseFile(data []byte) ([]string, error) {
	if len(data) > MaxFile {
		return nil, reject(credential.ReasonTooLarge, "file: %d bytes, the limit is %d", len(data), MaxFile)
	}
	var f struct {
		VerifiableCredential []string `json:"verifiableCredential"`
	}
	if err := unmarshalObject(data, &f, true); err != nil {
		return nil, reject(credential.ReasonBadStructure, "file: %w", err)
	}
	switch n := len(f.VerifiableCredential); {
	case n == 0:
		return nil, reject(credential.ReasonBadStructure, "file: no verifiableCredential array of JWS strings")
	case n > MaxFileCards:
		return nil, reject(credential.ReasonTooLarge, "file: %d cards, the limit is %d", n, MaxFileCards)
	}
	return f.VerifiableCredential, nil
}
