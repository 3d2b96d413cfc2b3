//go:build race

package camera

// raceEnabled is set when the tests run under the race detector, which
// makes decoding several times slower: the corpus tests then sample.
const raceEnabled = true
