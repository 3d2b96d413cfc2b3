package clock

import "testing"

// TestSysAdjtimex reads this machine's kernel clock status: it must not
// fail (adjtimex with no modes needs no privilege).
func TestSysAdjtimex(t *testing.T) {
	st, err := sysAdjtimex()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("unsync %v, max error %v", st.unsync, st.maxError)
}
