package version

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, c := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "devel"},
		{"module version", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"work tree, no vcs", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"work tree, clean", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"}, {Key: "vcs.modified", Value: "false"},
		}}, "devel+1a2b3c4d5e6f"},
		{"work tree, dirty", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"}, {Key: "vcs.modified", Value: "true"},
		}}, "devel+1a2b3c4d5e6f+dirty"},
	} {
		if got := fromBuildInfo(c.bi); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestStampWins(t *testing.T) {
	defer func(s string) { stamped = s }(stamped)
	stamped = "1.4.0+3.g1a2b3c4"
	if got := String(); got != "1.4.0+3.g1a2b3c4" {
		t.Errorf("String: got %q, want the stamp", got)
	}
	var b bytes.Buffer
	Print(&b, "sentinelctl")
	if !strings.HasPrefix(b.String(), "sentinelctl 1.4.0+3.g1a2b3c4 (go") || !strings.HasSuffix(b.String(), ")\n") {
		t.Errorf("Print: got %q", b.String())
	}
}
