package enrol

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// TokenQRPrefix starts the text of a token's QR code, so that a scanner
// tells it from a health code.
const TokenQRPrefix = "SENTINEL-ENROL:"

// ticketVersion starts the compact ticket form.
const ticketVersion = "SE1/"

// tokenEncoding spells tokens and fingerprints in upper case and digits,
// which a QR code holds in its compact alphanumeric mode.
var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrTicket: the text given as an enrolment token is neither a token nor
// a ticket.
var ErrTicket = errors.New("enrol: not an enrolment token")

// Ticket is what the installer gives a terminal to enrol it: the
// single-use token and, in the compact form that `sentinel-central devices
// add` prints, the address of the centre's enrolment listener and the
// SHA-256 fingerprint of the centre's device CA, so that the terminal
// needs no other flag.
//
// The compact form is
//
//	SE1/HOST:PORT/TOKEN/FINGERPRINT
//
// with TOKEN 26 and FINGERPRINT 52 characters of unpadded base32, all in
// upper case so that a QR code holds it in alphanumeric mode. A plain
// 26-character token is a Ticket with no address and no fingerprint.
type Ticket struct {
	Token string   // 26 characters of base32, upper case
	Addr  string   // HOST:PORT of the enrolment listener; empty for a plain token
	CA    [32]byte // SHA-256 of the device CA's certificate (DER); zero for a plain token
}

// Fingerprint returns the SHA-256 of a certificate's DER bytes.
func Fingerprint(der []byte) [32]byte { return sha256.Sum256(der) }

// FingerprintText spells a fingerprint as the ticket does.
func FingerprintText(f [32]byte) string { return tokenEncoding.EncodeToString(f[:]) }

// NewTicket returns the compact ticket for token, the enrolment listener
// at addr (HOST:PORT) and the device CA certificate caDER.
func NewTicket(token, addr string, caDER []byte) (Ticket, error) {
	t := Ticket{Token: NormToken(token), Addr: addr, CA: Fingerprint(caDER)}
	if err := checkToken(t.Token); err != nil {
		return Ticket{}, err
	}
	if err := checkAddr(addr); err != nil {
		return Ticket{}, err
	}
	return t, nil
}

// Compact reports whether the ticket carries the address and the
// fingerprint.
func (t Ticket) Compact() bool { return t.Addr != "" }

// String returns the ticket's text: the compact form, or the plain token.
func (t Ticket) String() string {
	if !t.Compact() {
		return t.Token
	}
	return ticketVersion + strings.ToUpper(t.Addr) + "/" + t.Token + "/" + FingerprintText(t.CA)
}

// QR returns the text of the ticket's QR code.
func (t Ticket) QR() string { return TokenQRPrefix + t.String() }

// URL returns the enrolment listener's URL; empty for a plain token.
func (t Ticket) URL() string {
	if !t.Compact() {
		return ""
	}
	return "https://" + t.Addr
}

// NormToken returns a token's value as stored: upper case, without
// surrounding space or TokenQRPrefix (installers type tokens, or paste a
// scanned QR code).
func NormToken(v string) string {
	v = strings.ToUpper(strings.TrimSpace(v))
	return strings.TrimPrefix(v, TokenQRPrefix)
}

// ParseTicket reads what an installer typed or a scanner read: a plain
// token or a compact ticket, with or without TokenQRPrefix, in any case.
func ParseTicket(s string) (Ticket, error) {
	s = NormToken(s)
	if !strings.HasPrefix(s, ticketVersion) {
		if err := checkToken(s); err != nil {
			return Ticket{}, err
		}
		return Ticket{Token: s}, nil
	}
	parts := strings.Split(strings.TrimPrefix(s, ticketVersion), "/")
	if len(parts) != 3 {
		return Ticket{}, fmt.Errorf("%w: a ticket is SE1/HOST:PORT/TOKEN/FINGERPRINT, this one has %d parts after SE1/: copy it whole", ErrTicket, len(parts))
	}
	t := Ticket{Addr: strings.ToLower(parts[0]), Token: parts[1]}
	if err := checkAddr(t.Addr); err != nil {
		return Ticket{}, err
	}
	if err := checkToken(t.Token); err != nil {
		return Ticket{}, err
	}
	f, err := tokenEncoding.DecodeString(parts[2])
	if err != nil || len(f) != len(t.CA) {
		return Ticket{}, fmt.Errorf("%w: the CA fingerprint is not 52 letters and digits: copy the ticket whole", ErrTicket)
	}
	copy(t.CA[:], f)
	return t, nil
}

func checkToken(v string) error {
	if b, err := tokenEncoding.DecodeString(v); err != nil || len(b) != 16 {
		return fmt.Errorf("%w: the token is not 26 letters and digits: check it was typed or scanned whole", ErrTicket)
	}
	return nil
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("%w: address %q: want HOST:PORT", ErrTicket, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%w: address %q: the port must be 1 to 65535", ErrTicket, addr)
	}
	if strings.ContainsAny(host, "/ \t@?#") {
		return fmt.Errorf("%w: address %q: not a host name", ErrTicket, addr)
	}
	return nil
}
