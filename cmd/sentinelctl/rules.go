package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"sentinel/crypto/certlogic"
	"sentinel/internal/cli"
)

// rulesCommands are the subcommands of "sentinelctl rules".
var rulesCommands = map[string]cli.Command{
	"check": {
		Summary:  "run every rule folder's tests under each DIR, one JSON line per test",
		Synopsis: "DIR...",
		Run:      runRulesCheck,
	},
}

// runRules runs "sentinelctl rules SUBCOMMAND".
func runRules(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinelctl rules", rulesCommands, args, stdin, stdout, stderr)
}

// ruleCheckLine is one line of "rules check": the rule, the test file,
// the result (true, false or "error: ...") and the test's expectation.
type ruleCheckLine struct {
	Rule     string `json:"rule"`
	Test     string `json:"test"`
	Result   any    `json:"result"`
	Expected any    `json:"expected"`
}

func runRulesCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const prog = "sentinelctl rules check"
	help := cli.CommandHelp(ctx)
	help.Summary = "Runs the tests of every EU business rule folder found under each DIR (a rule.json " +
		"beside tests/*.json, the layout of the EU's rule test data) and prints one JSON line per test: " +
		`{"rule": ID, "test": PATH, "result": true|false|"error: ...", "expected": true|false}. ` +
		"Exit status: 0 every result as expected, 1 a result differs or a folder could not be read, 2 usage"
	fs := cli.NewFlagSet(prog, stderr, help)
	dirs, err := cli.Parse(fs, args)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	if len(dirs) == 0 {
		return cli.Exit(stderr, prog, cli.Usagef("name at least one DIR holding rule folders (rule.json beside tests/*.json)"))
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	tests, differ, problems := 0, 0, 0
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "%s: %s is not a directory: name the folder that holds the rule folders\n", prog, dir)
			problems++
			continue
		}
		folders, err := certlogic.FindRuleFolders(dir)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			problems++
			continue
		}
		if len(folders) == 0 {
			fmt.Fprintf(stderr, "%s: no rule folder under %s: a rule folder holds rule.json and tests/*.json\n", prog, dir)
			problems++
			continue
		}
		for _, folder := range folders {
			lines, err := checkRuleFolder(folder)
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", prog, err)
				problems++
			}
			for _, l := range lines {
				tests++
				if l.Result != l.Expected {
					differ++
				}
				if err := enc.Encode(l); err != nil {
					return cli.Exit(stderr, prog, err)
				}
			}
		}
	}
	fmt.Fprintf(stderr, "%s: %d tests, %d as expected, %d differ", prog, tests, tests-differ, differ)
	if problems > 0 {
		fmt.Fprintf(stderr, ", %d problems above", problems)
	}
	fmt.Fprintln(stderr)
	if differ > 0 || problems > 0 {
		return cli.Exit(stderr, prog, cli.ErrReported) // the lines above say which
	}
	return cli.Exit(stderr, prog, nil)
}

// checkRuleFolder runs the tests of one rule folder. A rule that does
// not parse gives every test the result "error: ..."; a test file that
// does not parse is a problem returned with the lines of the others.
func checkRuleFolder(folder string) ([]ruleCheckLine, error) {
	files, err := filepath.Glob(filepath.Join(folder, "tests", "*.json"))
	if err != nil {
		return nil, err
	}
	rule, ruleErr := certlogic.LoadRule(folder)
	id := filepath.Base(folder)
	if ruleErr == nil {
		id = rule.Identifier
	}
	var lines []ruleCheckLine
	var firstErr error
	for _, f := range files {
		tc, err := certlogic.LoadRuleTest(f)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("test %s: %w", f, err)
			}
			continue
		}
		l := ruleCheckLine{Rule: id, Test: f, Expected: tc.Expected}
		switch {
		case ruleErr != nil:
			l.Result = "error: " + ruleErr.Error()
		default:
			if ok, err := rule.Eval(tc.Data); err != nil {
				l.Result = "error: " + err.Error()
			} else {
				l.Result = ok
			}
		}
		lines = append(lines, l)
	}
	if ruleErr != nil && len(files) == 0 {
		return nil, ruleErr
	}
	return lines, firstErr
}
