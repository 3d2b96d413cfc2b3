package passage_test

import (
	"fmt"
	"time"

	"sentinel/internal/passage"
)

// The reference of record 17 of terminal T-0042's journal, recorded at
// 13:04 UTC on 7 December 2026, as the guard display shows it, and read
// back as ops type it.
func ExampleNewRef() {
	epoch := [16]byte{0xa, 0xb}
	at := time.Date(2026, 12, 7, 13, 4, 12, 0, time.UTC)
	ref := passage.NewRef("T-0042", epoch, 17, at)
	fmt.Println(ref)
	typed, err := passage.ParseRef("8ylt 3b84 p54q")
	fmt.Println(typed == ref, err, typed.Matches("T-0042", epoch, 17, at))
	_, err = passage.ParseRef("8YLT-3B84-P45Q")
	fmt.Println(err)
	// Output:
	// 8YLT-3B84-P54Q
	// true <nil> true
	// passage reference "8YLT-3B84-P45Q": its check characters do not match: a character is misread or two are swapped
}
