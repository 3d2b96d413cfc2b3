package shc

import (
	"strings"

	"sentinel/crypto/credential"
)

// Assembler joins the parts of a chunked SMART Health Card ("shc:/C/N/…",
// a deprecated form that readers must still accept) into one JWS. The
// gate's scanner stage feeds it every shc:/ text it reads and calls Reset
// when the window for the remaining parts has passed.
//
// Reading the same part twice is harmless (scanners repeat); a part that
// contradicts the ones held (another N, or the same C with other content)
// discards them all and is refused, so that parts of two cards are never
// mixed. An Assembler is not safe for concurrent use.
type Assembler struct {
	total int
	parts [MaxChunks]string
	have  int
}

// Add takes one QR text. It returns the whole JWS when the text completes
// a code (at once for an unchunked code, which leaves the held parts
// alone), "" and no error while parts are missing, or a
// *credential.Rejection when the text is damaged or contradicts the parts
// held.
func (a *Assembler) Add(qr string) (jws string, warns []Warning, err error) {
	c, err := parseChunk(qr)
	if err != nil {
		return "", nil, err
	}
	if !c.chunked {
		return c.data, nil, nil
	}
	if c.total == 1 {
		return c.data, []Warning{WarnSingleChunk}, nil
	}
	if a.total != 0 && a.total != c.total {
		held := a.total
		a.Reset()
		return "", nil, reject(credential.ReasonBadEncoding,
			"chunks: part %d of %d does not belong to the %d-part code being read: scan all parts of one card again", c.index, c.total, held)
	}
	a.total = c.total
	switch have := a.parts[c.index-1]; {
	case have == c.data:
		// a repeated read of a part already held
	case have != "":
		a.Reset()
		return "", nil, reject(credential.ReasonBadEncoding,
			"chunks: two different parts %d of %d: scan all parts of one card again", c.index, c.total)
	default:
		a.parts[c.index-1] = c.data
		a.have++
	}
	if a.have < a.total {
		return "", nil, nil
	}
	var b strings.Builder
	for _, p := range a.parts[:a.total] {
		b.WriteString(p)
	}
	a.Reset()
	jws = b.String()
	if len(jws) > MaxJWS {
		return "", nil, reject(credential.ReasonTooLarge, "chunks: joined JWS of %d characters, the limit is %d", len(jws), MaxJWS)
	}
	return jws, []Warning{WarnChunked}, nil
}

// Pending returns how many parts are held and how many the code has; 0, 0
// when none are held.
func (a *Assembler) Pending() (have, total int) { return a.have, a.total }

// Reset discards the parts held.
func (a *Assembler) Reset() { *a = Assembler{} }
