// Package passage holds the words that every layer of the terminal uses
// for one person at one lane: the verdict and the temperature taken. The
// gate decides them, policy rules read and return them, the journal
// records them and the display shows them; all of them use these types,
// so that no layer translates another's.
//
// The package is a leaf: it imports nothing of Sentinel, so that the
// gate, policy, the journal (which must not import the gate) and the
// display can all share it.
package passage

// Verdict is what happens at the gate. Its values are stable words: the
// journal records them, policy rules return them, and the display and
// the centre read them.
type Verdict string

// Verdicts.
const (
	Admit Verdict = "admit" // open the gate
	Deny  Verdict = "deny"  // keep it shut
	Refer Verdict = "refer" // keep it shut and call the guard
)

// Verdicts returns every verdict.
func Verdicts() []Verdict { return []Verdict{Admit, Deny, Refer} }

// Valid reports whether v is admit, deny or refer.
func (v Verdict) Valid() bool { return v == Admit || v == Deny || v == Refer }
