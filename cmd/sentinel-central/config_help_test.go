package main

import (
	"strings"
	"testing"
)

// The two config commands of the ops walkthrough say in -h what they read:
// check a FILE, pin a PIN from standard input. Before, -h listed only
// their flags ("-json", "-guard ID").
func TestConfigHelpSaysWhatItReads(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"config", "check", "-h"}, []string{"usage: sentinel-central config check [--json] FILE", "without\npublishing"}},
		{[]string{"config", "pin", "-h"}, []string{"usage: sentinel-central config pin [--guard ID]", "standard\ninput", "never give it on the command line"}},
	} {
		code, _, errOut := sentinel(t, tc.args...)
		if code != exitOK {
			t.Errorf("%v: exit %d, want 0", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: -h does not say %q:\n%s", tc.args, w, errOut)
			}
		}
	}
}
