// Package guidetest extracts the walkthrough of the guides (docs/install.md
// and docs/central.md) so that a test can run it as written.
//
// # The convention
//
// A fenced code block whose info string is
//
//	sh walkthrough PART [scan=FILE] [show=FILE]
//
// is part of the walkthrough. PART is one of the Parts, which run in that
// order: "centre" (ops set up the centre and make a token), "terminal"
// (the installer installs, enrols and checks the terminal) and "ops"
// (ops look at the terminal's passages and revoke it); within a part,
// blocks run in the order of the guides given to the test, and in document
// order within a guide. Any other block (sh, toml, text) is shown to the
// reader only.
//
// scan=FILE says that while the block runs, a code is held before the
// terminal's scanner: the test writes the text of FILE (in the
// walkthrough's directory) to the scanner's pseudo-terminal every second
// until the block ends. show=FILE says that a person shows that code once
// before the block runs: the test writes it once and waits until the
// terminal has decided a passage.
//
// The blocks use variables that a prelude sets; docs/install.md lists them
// with the values they have on a real terminal and centre. The test in
// this package documents the values it gives them.
//
// Commands finds every command of our programs in any sh block, walkthrough
// or not; TestGuideCommands checks each against its -h, so that the blocks
// no test can run (installation as root, calibration with a blackbody,
// reference syntax) name only subcommands and flags that exist.
package guidetest

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Parts are the walkthrough's parts, in the order they run.
var Parts = []string{"centre", "terminal", "ops"}

// Block is one shell block of the walkthrough.
type Block struct {
	File string // the guide it is in
	Line int    // the line of its opening fence
	Part string // one of Parts
	Scan string // scan=FILE, or ""
	Show string // show=FILE, or ""
	Code string // the shell text, as written
}

// String names the block for a reader: "docs/install.md:42".
func (b Block) String() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }

// Extract returns the walkthrough blocks of the guide md, named file. It
// refuses a walkthrough block it cannot run: an unknown part or
// attribute, or a fence that is never closed.
func Extract(file string, md []byte) ([]Block, error) {
	var out []Block
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(nil, 1<<20)
	var (
		in    bool   // inside a fenced block
		fence string // its opening fence
		cur   *Block // the walkthrough block being read
		body  strings.Builder
		line  int
		open  int // the line of the opening fence
		shift int // its indentation, taken off the block's lines
	)
	for sc.Scan() {
		line++
		text := sc.Text()
		trimmed := strings.TrimLeft(text, " ")
		indent := len(text) - len(trimmed)
		if !in {
			f := fenceOf(trimmed)
			if f == "" || indent > 3 {
				continue
			}
			in, fence, open, shift = true, f, line, indent
			info := strings.Fields(strings.TrimSpace(trimmed[len(f):]))
			if len(info) < 2 || info[0] != "sh" || info[1] != "walkthrough" {
				continue
			}
			b := &Block{File: file, Line: line}
			if len(info) < 3 || !slices.Contains(Parts, info[2]) {
				return nil, fmt.Errorf("%s:%d: a walkthrough block names its part: sh walkthrough %s", file, line, strings.Join(Parts, "|"))
			}
			b.Part = info[2]
			for _, a := range info[3:] {
				k, v, ok := strings.Cut(a, "=")
				switch {
				case ok && k == "scan" && v != "":
					b.Scan = v
				case ok && k == "show" && v != "":
					b.Show = v
				default:
					return nil, fmt.Errorf("%s:%d: unknown walkthrough attribute %q: want scan=FILE or show=FILE", file, line, a)
				}
			}
			cur = b
			body.Reset()
			continue
		}
		if strings.HasPrefix(trimmed, fence) && strings.TrimSpace(trimmed[len(fence):]) == "" && strings.Trim(trimmed, fence[:1]) == "" {
			in = false
			if cur != nil {
				cur.Code = body.String()
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			// A block indented in a list keeps its commands' own indentation.
			body.WriteString(text[min(indent, shift):])
			body.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if in {
		return nil, fmt.Errorf("%s:%d: the code block is never closed", file, open)
	}
	return out, nil
}

// fenceOf returns the opening fence of a line (``` or ~~~, or longer), or "".
func fenceOf(s string) string {
	for _, c := range []byte{'`', '~'} {
		n := 0
		for n < len(s) && s[n] == c {
			n++
		}
		if n >= 3 {
			return s[:n]
		}
	}
	return ""
}

// Command is one command of a guide's shell blocks that runs one of our
// programs: the program, the words after it up to the end of the command
// (continuation lines joined), and where it is.
type Command struct {
	File    string
	Line    int
	Program string
	Args    []string
}

// String names the command for a reader.
func (c Command) String() string {
	return fmt.Sprintf("%s:%d: %s %s", c.File, c.Line, c.Program, strings.Join(c.Args, " "))
}

// Commands returns every command of the sh blocks of md (walkthrough or
// not) that runs one of programs: at the start of a line, after a pipe,
// ;, && or ||, or inside $( ). Words are split on blanks; quotes are kept.
func Commands(file string, md []byte, programs ...string) []Command {
	var out []Command
	lines := strings.Split(string(md), "\n")
	in, sh := false, false
	var fence string
	var logical strings.Builder
	start := 0
	for i, text := range lines {
		trimmed := strings.TrimLeft(text, " ")
		if !in {
			if f := fenceOf(trimmed); f != "" {
				in, fence = true, f
				info := strings.Fields(trimmed[len(f):])
				sh = len(info) > 0 && info[0] == "sh"
			}
			continue
		}
		if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
			in = false
			continue
		}
		if !sh {
			continue
		}
		if logical.Len() == 0 {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(strings.TrimRight(trimmed, " "), "\\"); ok {
			logical.WriteString(cont + " ")
			continue
		}
		logical.WriteString(trimmed)
		out = append(out, commandsIn(file, start, logical.String(), programs)...)
		logical.Reset()
	}
	return out
}

// commandsIn finds the commands of programs in one logical shell line.
func commandsIn(file string, line int, text string, programs []string) []Command {
	if i := strings.Index(text, " #"); i >= 0 {
		text = text[:i]
	}
	if strings.HasPrefix(strings.TrimSpace(text), "#") {
		return nil
	}
	for _, sep := range []string{"$(", "|", ";", "&&", ")"} {
		text = strings.ReplaceAll(text, sep, "\n")
	}
	var out []Command
	for _, seg := range strings.Split(text, "\n") {
		words := strings.Fields(seg)
		for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
			words = words[1:] // VAR=value before the command
		}
		if len(words) == 0 || !slices.Contains(programs, words[0]) {
			continue
		}
		args := words[1:]
		for i, w := range args {
			if strings.HasPrefix(w, ">") || strings.HasPrefix(w, "<") || w == "&" || strings.HasPrefix(w, "2>") {
				args = args[:i]
				break
			}
		}
		out = append(out, Command{File: file, Line: line, Program: words[0], Args: args})
	}
	return out
}

// InlineCommands returns the commands of programs in the inline code spans
// of md's prose, outside fenced blocks: `sentinelctl status --wait 2m`,
// also when the span breaks across a line. A span holds one command; its
// words are taken as Commands takes a block's.
func InlineCommands(file string, md []byte, programs ...string) []Command {
	var out []Command
	in := false // inside a fenced block
	var fence string
	var span strings.Builder
	open, start := false, 0
	for i, text := range strings.Split(string(md), "\n") {
		trimmed := strings.TrimLeft(text, " ")
		if f := fenceOf(trimmed); f != "" && !open {
			if !in {
				in, fence = true, f
			} else if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				in = false
			}
			continue
		}
		if in {
			continue
		}
		for j := 0; j < len(text); j++ {
			if text[j] != '`' {
				if open {
					span.WriteByte(text[j])
				}
				continue
			}
			n := 1 // a run of backticks opens or closes a span of the same length; take single ones
			for j+n < len(text) && text[j+n] == '`' {
				n++
			}
			if n > 1 {
				j += n - 1
				continue
			}
			if !open {
				open, start = true, i+1
				span.Reset()
				continue
			}
			open = false
			words := strings.Fields(span.String())
			if len(words) > 0 && slices.Contains(programs, words[0]) {
				out = append(out, Command{File: file, Line: start, Program: words[0], Args: words[1:]})
			}
		}
		if open {
			if strings.TrimSpace(text) == "" {
				open = false // a blank line ends the paragraph, and any span left open
			} else {
				span.WriteByte(' ')
			}
		}
	}
	return out
}
