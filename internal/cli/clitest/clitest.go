// Package clitest checks that a program built on internal/cli keeps the
// command-line contract in every one of its commands: an unknown flag and
// a bad time are usage errors (exit status 2) that say what was wrong, and
// -h exits 0 and begins with a usage line naming the command and a
// description of what it does before the flags.
//
// Commands are found the way an operator finds them, from -h: the command
// list that cli.Dispatch prints, and "PROG COMMAND SUBCOMMAND" usage lines
// of hand-written dispatchers. Time flags are the flags whose -h line
// reads "-NAME TIME".
package clitest

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"sentinel/internal/cli"
)

// Program is a program's run function, as its tests call it in-process.
type Program struct {
	Name string   // as it names itself in usage lines, e.g. "sentinelctl"
	Run  cli.Func // runs the program with args
	// Extra lists command paths -h does not reveal (a subcommand the
	// parent's usage does not list).
	Extra [][]string
	// WantLeaves and WantTimeFlags are commands and time flags ("issue
	// --at") the walk must find, so that a change in the help text
	// cannot make the check vacuous.
	WantLeaves    [][]string
	WantTimeFlags []string
}

func (p Program) run(args ...string) (code int, stdout, stderr string) {
	var out, errOut strings.Builder
	code = p.Run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

var (
	commandLine = regexp.MustCompile(`^  ([a-z][a-z0-9-]*)  `)
	timeFlag    = regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*) TIME$`)
	flagLine    = regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)( [^\n]*)?\n((?:    \t[^\n]*\n?)+)`)
)

// subcommands returns the subcommands that path's -h output names.
func (p Program) subcommands(path []string) []string {
	_, out, errOut := p.run(append(slices.Clone(path), "-h")...)
	help := out + "\n" + errOut
	var subs []string
	add := func(s string) {
		if s != "" && !slices.Contains(subs, s) {
			subs = append(subs, s)
		}
	}
	// cli.Dispatch's list.
	if strings.Contains(help, "\ncommands:\n") {
		list := help[strings.Index(help, "\ncommands:\n")+len("\ncommands:\n"):]
		for _, line := range strings.Split(list, "\n") {
			m := commandLine.FindStringSubmatch(line)
			if m == nil {
				break
			}
			add(m[1])
		}
	}
	// Hand-written usage lines: "PROG PATH... SUB[|SUB2]".
	prefix := regexp.QuoteMeta(strings.Join(append([]string{p.Name}, path...), " "))
	re := regexp.MustCompile(`(?m)^(?:usage: |\s+)` + prefix + ` ([a-z][a-z0-9-]*(?:\|[a-z][a-z0-9-]*)*)(?:\s|$)`)
	for _, m := range re.FindAllStringSubmatch(help, -1) {
		for _, s := range strings.Split(m[1], "|") {
			add(s)
		}
	}
	return subs
}

// leaves walks the command tree from path. A command with subcommands is
// a command of its own too when its -h shows flags ("issue" and "issue
// dcc").
func (p Program) leaves(path []string, depth int) [][]string {
	subs := p.subcommands(path)
	if len(subs) == 0 || depth > 3 {
		return [][]string{path}
	}
	var out [][]string
	if _, o, e := p.run(append(slices.Clone(path), "-h")...); flagLine.MatchString(o + "\n" + e) {
		out = append(out, path)
	}
	for _, s := range subs {
		out = append(out, p.leaves(append(slices.Clone(path), s), depth+1)...)
	}
	return out
}

// Check runs every command of p with an unknown flag, and every time flag
// of every command with a bad time, and wants exit status 2 and a message
// naming the flag each time.
func Check(t *testing.T, p Program) {
	t.Helper()
	leaves := p.leaves(nil, 0)
	for _, e := range p.Extra {
		if !slices.ContainsFunc(leaves, func(l []string) bool { return slices.Equal(l, e) }) {
			leaves = append(leaves, e)
		}
	}
	for _, w := range p.WantLeaves {
		if !slices.ContainsFunc(leaves, func(l []string) bool { return slices.Equal(l, w) }) {
			t.Errorf("%s %s: not found from -h (found %q)", p.Name, strings.Join(w, " "), leaves)
		}
	}
	var timeFlags []string
	for _, leaf := range leaves {
		name := strings.TrimSpace(p.Name + " " + strings.Join(leaf, " "))
		t.Run(strings.Join(append([]string{"unknown flag"}, leaf...), " "), func(t *testing.T) {
			code, _, errOut := p.run(append(slices.Clone(leaf), "--no-such-flag")...)
			if code != cli.ExitUsage || !strings.Contains(errOut, "no-such-flag") {
				t.Errorf("%s --no-such-flag: exit %d, want %d and a message naming the flag; stderr:\n%s", name, code, cli.ExitUsage, errOut)
			}
		})
		code, out, errOut := p.run(append(slices.Clone(leaf), "-h")...)
		help := out + "\n" + errOut
		t.Run(strings.Join(append([]string{"help"}, leaf...), " "), func(t *testing.T) {
			if code != cli.ExitOK {
				t.Errorf("%s -h: exit %d, want %d", name, code, cli.ExitOK)
			}
			if err := checkHelp(name, out, errOut); err != "" {
				t.Errorf("%s -h: %s; it printed:\n%s%s", name, err, out, errOut)
			}
		})
		for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
			if strings.Contains(m[3], "RFC 3339") && strings.TrimSpace(m[2]) != "TIME" {
				t.Errorf("%s -%s takes a time (its help says RFC 3339) but -h shows it as %q, not TIME", name, m[1], strings.TrimSpace(m[2]))
			}
		}
		for _, m := range timeFlag.FindAllStringSubmatch(help, -1) {
			flagName := m[1]
			timeFlags = append(timeFlags, strings.TrimSpace(strings.Join(leaf, " ")+" --"+flagName))
			for _, bad := range []string{"yesterday", "01/12/2026 08:00", "2026-12-01T25:00:00Z"} {
				t.Run(strings.Join(append(append([]string{"bad time"}, leaf...), "--"+flagName, bad), " "), func(t *testing.T) {
					code, _, errOut := p.run(append(slices.Clone(leaf), "--"+flagName, bad)...)
					if code != cli.ExitUsage || !strings.Contains(errOut, "-"+flagName) || !strings.Contains(errOut, "RFC 3339") {
						t.Errorf("%s --%s %q: exit %d, want %d and a message naming the flag and the form; stderr:\n%s", name, flagName, bad, code, cli.ExitUsage, errOut)
					}
				})
			}
			// The space form is taken everywhere: a good time passes the
			// flag parser (the command may still refuse for another
			// reason, such as a missing required flag, but not this one).
			t.Run(strings.Join(append(append([]string{"space time"}, leaf...), "--"+flagName), " "), func(t *testing.T) {
				_, _, errOut := p.run(append(slices.Clone(leaf), "--"+flagName, "2026-12-01 08:00:00", "--no-such-flag")...)
				if strings.Contains(errOut, "for flag -"+flagName) {
					t.Errorf("%s --%s %q refused:\n%s", name, flagName, "2026-12-01 08:00:00", errOut)
				}
			})
		}
	}
	for _, w := range p.WantTimeFlags {
		if !slices.Contains(timeFlags, w) {
			t.Errorf("%s %s: not found as a TIME flag from -h (found %q)", p.Name, w, timeFlags)
		}
	}
}

// checkHelp returns what is wrong with the -h output of the command name
// (stdout and stderr; help goes to one of them), or "": it must begin with
// "usage: NAME", and say in words what the command does before its flags.
func checkHelp(name, stdout, stderr string) string {
	text := stderr
	if strings.TrimSpace(stdout) != "" {
		text = stdout
	}
	lines := strings.Split(strings.TrimLeft(text, "\n"), "\n")
	first := lines[0]
	if first != "usage: "+name && !strings.HasPrefix(first, "usage: "+name+" ") {
		return "the first line is not a usage line \"usage: " + name + " ...\""
	}
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, "       "+name) || strings.TrimSpace(line) == "" {
			continue // another form of the command
		}
		if line == "flags:" || strings.HasPrefix(line, "  -") {
			break
		}
		if strings.IndexFunc(line, unicode.IsLetter) >= 0 {
			return ""
		}
	}
	return "no description of what the command does between the usage line and the flags"
}
