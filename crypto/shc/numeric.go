package shc

import (
	"strconv"
	"strings"

	"sentinel/crypto/credential"
)

// Limits of the numeric QR form.
const (
	// Prefix starts every SMART Health Card QR code.
	Prefix = "shc:/"
	// MaxChunks is the most parts a chunked code may have. Chunking is
	// deprecated; the specification's own largest example has 3 parts.
	MaxChunks = 10
)

// DecodeNumeric returns the JWS of a single SMART Health Card QR text,
// "shc:/" followed by two digits per character (the character's code
// minus 45, 00 to 77). A chunk header "shc:/1/1/" is accepted with
// [WarnSingleChunk]; a part of a larger chunked code is refused: join the
// parts with an [Assembler].
//
// Refusals are *credential.Rejection with ReasonTooLarge (longer than
// credential.MaxPayload) or ReasonBadEncoding.
func DecodeNumeric(qr string) (jws string, warns []Warning, err error) {
	c, err := parseChunk(qr)
	if err != nil {
		return "", nil, err
	}
	if c.total > 1 {
		return "", nil, reject(credential.ReasonBadEncoding,
			"numeric: part %d of a %d-part code: scan every part and join them with an Assembler", c.index, c.total)
	}
	if c.chunked {
		warns = append(warns, WarnSingleChunk)
	}
	return c.data, warns, nil
}

// chunk is one parsed QR text.
type chunk struct {
	index, total int  // 1-based; 1 and 1 when not chunked
	chunked      bool // the text carried a C/N/ header
	data         string
}

func parseChunk(qr string) (chunk, error) {
	if len(qr) > credential.MaxPayload {
		return chunk{}, reject(credential.ReasonTooLarge, "numeric: QR text of %d characters, the limit is %d", len(qr), credential.MaxPayload)
	}
	if !strings.HasPrefix(qr, Prefix) {
		if strings.HasPrefix(qr, "shc:") {
			return chunk{}, reject(credential.ReasonBadEncoding, "numeric: header %q: a SMART Health Card starts with %q", truncate(qr, 8), Prefix)
		}
		return chunk{}, reject(credential.ReasonBadEncoding, "numeric: no %q prefix", Prefix)
	}
	c := chunk{index: 1, total: 1}
	body := qr[len(Prefix):]
	if strings.IndexByte(body, '/') >= 0 {
		var err error
		if c.index, c.total, body, err = chunkHeader(body); err != nil {
			return chunk{}, err
		}
		c.chunked = true
	}
	data, err := decodeDigits(body, len(qr)-len(body))
	if err != nil {
		return chunk{}, err
	}
	c.data = data
	return c, nil
}

// chunkHeader parses "C/N/" at the start of body.
func chunkHeader(body string) (index, total int, rest string, err error) {
	cs, rest, _ := strings.Cut(body, "/")
	ns, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, "", reject(credential.ReasonBadEncoding, "numeric: chunk header wants %q followed by C/N/", Prefix)
	}
	index, err1 := smallNumber(cs)
	total, err2 := smallNumber(ns)
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, "", reject(credential.ReasonBadEncoding, "numeric: chunk header %q/%q is not two whole numbers", truncate(cs, 4), truncate(ns, 4))
	case total < 1 || total > MaxChunks:
		return 0, 0, "", reject(credential.ReasonBadEncoding, "numeric: a code of %d parts; 1 to %d are accepted", total, MaxChunks)
	case index < 1 || index > total:
		return 0, 0, "", reject(credential.ReasonBadEncoding, "numeric: part %d of %d does not exist", index, total)
	}
	return index, total, rest, nil
}

// smallNumber parses 1 to 2 decimal digits without a leading zero.
func smallNumber(s string) (int, error) {
	if s == "" || len(s) > 2 || s[0] == '0' || strings.TrimLeft(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// decodeDigits turns digit pairs into characters; off is the position of
// body in the QR text, for messages.
func decodeDigits(body string, off int) (string, error) {
	if body == "" {
		return "", reject(credential.ReasonBadEncoding, "numeric: no digits after the header")
	}
	// One pass; a stray character is reported before an odd count, and an
	// odd count before a pair out of range (which a lost digit causes).
	out := make([]byte, (len(body)+1)/2)
	badPair := -1
	for i := 0; i < len(body); i++ {
		c := body[i] - '0'
		if c > 9 {
			return "", reject(credential.ReasonBadEncoding, "numeric: character %d is %q, only digits may follow the header (trailing spaces or line breaks?)", off+i+1, body[i])
		}
		if i%2 == 0 {
			out[i/2] = c * 10
			continue
		}
		out[i/2] += c
		if out[i/2] > 77 && badPair < 0 {
			badPair = i / 2
		}
		out[i/2] += 45
	}
	if len(body)%2 != 0 {
		return "", reject(credential.ReasonBadEncoding, "numeric: %d digits, an odd count: the code is truncated or damaged", len(body))
	}
	if badPair >= 0 {
		return "", reject(credential.ReasonBadEncoding, "numeric: digit pair %d is %s, the largest is 77", badPair+1, body[2*badPair:2*badPair+2])
	}
	return string(out), nil
}

// EncodeNumeric returns the single QR text "shc:/…" of jws. jws must hold
// only characters 45 ('-') to 122 ('z'), as every compact JWS does.
func EncodeNumeric(jws string) string {
	return string(appendDigits([]byte(Prefix), jws))
}

// EncodeChunks splits jws into n parts as evenly as possible and returns
// their QR texts "shc:/C/N/…" (the deprecated chunked form, for tests and
// demos of the Assembler). n is clamped to 1…MaxChunks.
func EncodeChunks(jws string, n int) []string {
	n = max(1, min(n, MaxChunks, len(jws)))
	out := make([]string, n)
	for i := range n {
		part := jws[i*len(jws)/n : (i+1)*len(jws)/n]
		b := []byte(Prefix + strconv.Itoa(i+1) + "/" + strconv.Itoa(n) + "/")
		out[i] = string(appendDigits(b, part))
	}
	return out
}

func appendDigits(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		v := int(s[i]) - 45
		b = append(b, byte('0'+v/10), byte('0'+v%10))
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
