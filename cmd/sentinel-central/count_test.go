package main

import "testing"

// The guides' own run has one guard, one passage, one device: the commands
// said "1 guards", "1 passages of 1 devices", "exported 1 passages".
func TestCount(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{count(0, "guard"), "0 guards"},
		{count(1, "guard"), "1 guard"},
		{count(int64(2), "passage"), "2 passages"},
		{count(1, "contact passage"), "1 contact passage"},
		{countText("1", "passage"), "1 passage"},
		{countText("30", "passage"), "30 passages"},
		{countText("", "passage"), "passages"},
		{count(2, "audit entry"), "2 audit entries"},
		{count(1, "audit entry"), "1 audit entry"},
		{count(3, "day"), "3 days"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
