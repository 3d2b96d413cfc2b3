package guidetest

import (
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	md := "# Guide\n\n```sh\necho not run\n```\n\n" +
		"1. First:\n\n   ```sh walkthrough centre\n   a=1\n     indented\n   ```\n\n" +
		"~~~~sh walkthrough terminal scan=code.txt show=code.txt\nb=2\n```\nstill inside\n~~~~\n" +
		"```toml\n[x]\n```\n"
	got, err := Extract("g.md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{
		{File: "g.md", Line: 9, Part: "centre", Code: "a=1\n  indented\n"},
		{File: "g.md", Line: 14, Part: "terminal", Scan: "code.txt", Show: "code.txt", Code: "b=2\n```\nstill inside\n"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d blocks %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{
		"```sh walkthrough\nx\n```\n",
		"```sh walkthrough later\nx\n```\n",
		"```sh walkthrough ops wait=5\nx\n```\n",
		"```sh walkthrough ops\nx\n",
	} {
		if _, err := Extract("bad.md", []byte(bad)); err == nil || !strings.Contains(err.Error(), "bad.md:1") {
			t.Errorf("Extract(%q): got %v, want an error at bad.md:1", bad, err)
		}
	}
}

func TestCommands(t *testing.T) {
	md := "```sh\n" +
		"sentinel-central serve --data DIR \\\n    [--listen ADDR] >>central.log 2>&1 &\n" +
		"TICKET=$(grep -o x t.txt | head -n 1)   # a comment\n" +
		"printf '%s\\n' 1 | sentinel-central config pin --guard g >>site.toml\n" +
		"# sentinelctl status\n" +
		"```\n```text\nsentinelctl not-a-command\n```\n" +
		"```sh walkthrough ops\nx=$(sentinelctl status --json) && sentineld -demo\n```\n"
	got := Commands("g.md", []byte(md), "sentinel-central", "sentinelctl", "sentineld")
	want := []string{
		"g.md:2: sentinel-central serve --data DIR [--listen ADDR]",
		"g.md:5: sentinel-central config pin --guard g",
		"g.md:12: sentinelctl status --json",
		"g.md:12: sentineld -demo",
	}
	var gs []string
	for _, c := range got {
		gs = append(gs, c.String())
	}
	if strings.Join(gs, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(gs, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzExtract checks that no guide text makes Extract or Commands panic,
// that every block names a known part and every command its program.
func FuzzExtract(f *testing.F) {
	f.Add("```sh walkthrough centre\necho hi\n```\n")
	f.Add("   ~~~ sh walkthrough ops scan=a\n x\n   ~~~\n")
	f.Add("```\n```sh walkthrough terminal\n")
	f.Add("```sh\nx=$(sentinelctl status \\\n --json) | sentinelctl\n```\n")
	f.Fuzz(func(t *testing.T, md string) {
		for _, c := range Commands("f.md", []byte(md), "sentinelctl") {
			if c.Program != "sentinelctl" || c.Line < 1 {
				t.Fatalf("command %v", c)
			}
		}
		bs, err := Extract("f.md", []byte(md))
		if err != nil {
			return
		}
		for _, b := range bs {
			if b.Part != "centre" && b.Part != "terminal" && b.Part != "ops" {
				t.Fatalf("block %v has part %q", b, b.Part)
			}
		}
	})
}

// TestInlineCommands: the commands in the prose's code spans, a span
// broken across lines included, and none from fenced blocks or double
// backticks.
func TestInlineCommands(t *testing.T) {
	md := "Run `sentinelctl status --wait 2m` and then `sentinel-central\n" +
		"devices list --json`; not `go test` nor ``sentinelctl x``.\n" +
		"```sh\nsentinelctl in-a-block `sentinelctl quoted`\n```\n" +
		"A span left open `sentinelctl never\n\nclosed.\n" +
		"| `sentineld -config FILE` | a table |\n"
	got := InlineCommands("g.md", []byte(md), "sentinel-central", "sentinelctl", "sentineld")
	want := []string{
		"g.md:1: sentinelctl status --wait 2m",
		"g.md:1: sentinel-central devices list --json",
		"g.md:9: sentineld -config FILE",
	}
	var gs []string
	for _, c := range got {
		gs = append(gs, c.String())
	}
	if strings.Join(gs, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(gs, "\n"), strings.Join(want, "\n"))
	}
}
