package credential

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits on outside bytes, from the contracts between the parts.
const (
	// MaxPayload is the largest payload accepted: the capacity of the largest
	// QR code in alphanumeric mode. Longer payloads are refused before any
	// decoding.
	MaxPayload = 4296
	// MaxInflated is where decompression stops.
	MaxInflated = 64 << 10
)

// Format names a code format.
type Format string

// The formats a terminal verifies.
const (
	FormatNative Format = "native" // the native signed health code (HCN1:)
	FormatDCC    Format = "eu-dcc" // EU Digital COVID Certificate (HC1:)
	FormatSHC    Format = "shc"    // SMART Health Card (shc:/)
)

// Colour is a health-code colour.
type Colour uint8

// Colours. ColourNone means the code carries no colour (EU DCC and SHC carry
// facts instead, which policy maps to a colour).
const (
	ColourNone Colour = iota
	ColourGreen
	ColourYellow
	ColourRed
)

var colourNames = [...]string{"none", "green", "yellow", "red"}

// String returns the colour's lowercase English name.
func (c Colour) String() string {
	if int(c) < len(colourNames) {
		return colourNames[c]
	}
	return "colour(" + strconv.Itoa(int(c)) + ")"
}

// ParseColour parses "green", "yellow" or "red".
func ParseColour(s string) (Colour, error) {
	for i, n := range colourNames[1:] {
		if s == n {
			return Colour(i + 1), nil
		}
	}
	return ColourNone, fmt.Errorf("parse colour: %q is not green, yellow or red", s)
}

// MarshalText implements encoding.TextMarshaler.
func (c Colour) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// HolderKind says how a holder is identified.
type HolderKind uint8

// Holder kinds.
const (
	HolderUnknown   HolderKind = iota // not derivable (e.g. no pseudonym key loaded)
	HolderNative                      // (issuer, index)
	HolderPseudonym                   // keyed hash of name and birth date
)

// PseudonymSize is the length of a holder pseudonym in bytes.
const PseudonymSize = 16

// Holder identifies a person without naming them: a native holder is
// (issuer, index); an EU DCC or SHC holder is a pseudonym.
type Holder struct {
	Kind      HolderKind
	Issuer    string // native: the region that assigned Index
	Index     uint32 // native: the issuer's number for the holder
	Pseudonym [PseudonymSize]byte
}

// String renders the holder as "ISSUER:INDEX" for native holders and
// "p:HEX" for pseudonyms; it never contains a name.
func (h Holder) String() string {
	switch h.Kind {
	case HolderNative:
		return h.Issuer + ":" + strconv.FormatUint(uint64(h.Index), 10)
	case HolderPseudonym:
		return "p:" + hex.EncodeToString(h.Pseudonym[:])
	}
	return ""
}

// MarshalText implements encoding.TextMarshaler.
func (h Holder) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Facts are what an EU DCC or SHC asserts, for policy to map to a colour.
type Facts struct {
	// Kind is "vaccination", "test", "recovery" or "immunization".
	Kind string `json:"kind,omitempty"`
	// Disease or agent targeted (DCC tg, e.g. "840539006" for COVID-19).
	Disease string `json:"disease,omitempty"`
	// Product: the vaccine product (DCC mp, SHC CVX code) or test type.
	Product string `json:"product,omitempty"`
	// Dose and TotalDoses: DCC dn/sd.
	Dose       int `json:"dose,omitempty"`
	TotalDoses int `json:"total_doses,omitempty"`
	// Date: vaccination date, test sample time or first positive result.
	Date time.Time `json:"date,omitzero"`
	// TestResult is "detected" or "not-detected" for tests.
	TestResult string `json:"test_result,omitempty"`
	// ValidFrom and ValidUntil bound a recovery certificate.
	ValidFrom  time.Time `json:"valid_from,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	// Count is the number of entries (immunizations) the card carries.
	Count int `json:"count,omitempty"`
}

// Credential is a verified code: every field comes from signed data that
// verified against a trusted key.
type Credential struct {
	Format Format `json:"format"`
	// Issuer: the native region id, the DCC issuing country (or CWT iss),
	// or the SHC issuer URL.
	Issuer string `json:"issuer"`
	// KeyID identifies the key that signed the code.
	KeyID []byte `json:"key_id"`
	// Holder identifies the person by index or pseudonym.
	Holder Holder `json:"holder"`
	// Colour is the colour in the code (native codes only).
	Colour Colour `json:"colour"`
	// ColourSince is when the colour took effect (native codes only).
	ColourSince time.Time `json:"colour_since,omitzero"`
	// DisplayName is the masked name shown to the guard ("Zhang *"); never
	// the full name.
	DisplayName string `json:"display_name,omitempty"`
	// IssuedAt, NotBefore and Expires bound the credential's validity.
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	NotBefore time.Time `json:"not_before,omitzero"`
	Expires   time.Time `json:"expires,omitzero"`
	// Rolling is true when a native code carried a fresh holder signature.
	Rolling bool `json:"rolling,omitempty"`
	// Fingerprint identifies the credential without naming its holder:
	// the SHA-256 of the bytes its issuer signed (the COSE Sig_structure,
	// or the JWS signing input). Every copy of a code has the same
	// fingerprint, however it is re-encoded; zero when not computed.
	Fingerprint [32]byte `json:"-"`
	// Presented is the start of a rolling presentation's time step and
	// PresentedUntil when the presentation stops verifying under the
	// verifier's clock tolerance; both are zero for a static code. A
	// terminal admits each presentation once (its replay memory keeps it
	// until PresentedUntil).
	Presented      time.Time `json:"-"`
	PresentedUntil time.Time `json:"-"`
	// Paper is true for a native code that has a holder key slot empty:
	// valid until its expiry, policy decides where it is accepted.
	Paper bool `json:"paper,omitempty"`
	// Facts are the DCC or SHC content for policy.
	Facts *Facts `json:"facts,omitempty"`
	// Revocation holds the identifiers that revocation lists key on: for
	// EU DCC the certificate identifier (ci), for SHC the rid.
	Revocation string `json:"-"`
	// Content is the signed content that rule engines read: for an EU DCC
	// the health certificate (claim -260/1) with the value sets it was
	// verified against (a *dcc.Content), which the EU business rules
	// (CertLogic) evaluate; nil otherwise. It holds the
	// full name and the birth date: never log, journal or display it.
	Content any `json:"-"`
	// Warnings are what the verifier noticed but did not refuse for (an
	// EU DCC code missing from a list that is only an example), for the
	// logs and `sentinelctl verify`. Never personal data.
	Warnings []string `json:"warnings,omitempty"`
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Colour) UnmarshalText(b []byte) error {
	if string(b) == "none" {
		*c = ColourNone
		return nil
	}
	v, err := ParseColour(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseHolder parses the forms Holder.String writes: "ISSUER:INDEX" or
// "p:HEX", and "" for an unknown holder.
func ParseHolder(s string) (Holder, error) {
	if s == "" {
		return Holder{}, nil
	}
	if hexs, ok := strings.CutPrefix(s, "p:"); ok {
		var h Holder
		b, err := hex.DecodeString(hexs)
		if err != nil || len(b) != PseudonymSize {
			return Holder{}, fmt.Errorf("parse holder %q: a pseudonym is p: and %d hex digits", s, 2*PseudonymSize)
		}
		h.Kind = HolderPseudonym
		copy(h.Pseudonym[:], b)
		return h, nil
	}
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return Holder{}, fmt.Errorf("parse holder %q: want ISSUER:INDEX, e.g. ZJ:12345", s)
	}
	n, err := strconv.ParseUint(s[i+1:], 10, 32)
	if err != nil {
		return Holder{}, fmt.Errorf("parse holder %q: the index is not a number from 0 to 4294967295", s)
	}
	return Holder{Kind: HolderNative, Issuer: s[:i], Index: uint32(n)}, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Holder) UnmarshalText(b []byte) error {
	v, err := ParseHolder(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}
