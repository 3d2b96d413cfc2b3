package certlogic

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// RuleTest is one test of a rule in the layout of the EU's business-rule
// test data: tests/NAME.json beside rule.json, holding the certificate
// ("payload"), the verifier's knowledge ("external") and whether the rule
// passes ("expected").
type RuleTest struct {
	Path     string
	Name     string
	Data     any // {"payload": ..., "external": ...}
	Expected bool
}

// FindRuleFolders returns every directory under root (root included)
// that holds a rule.json, sorted.
func FindRuleFolders(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "rule.json" {
			out = append(out, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look for rule folders under %s: %w", root, err)
	}
	sort.Strings(out)
	return out, nil
}

// LoadRule reads and parses dir/rule.json.
func LoadRule(dir string) (*Rule, error) {
	b, err := readBounded(filepath.Join(dir, "rule.json"), MaxRuleBytes)
	if err != nil {
		return nil, err
	}
	r, err := ParseRule(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "rule.json"), err)
	}
	return r, nil
}

// LoadRules reads every rule under root: each rule.json, and each other
// *.json file outside a "tests" directory (a folder of rules as the EU
// gateway hands them out, one file each). A file that is no rule is an
// error naming it. Rules come sorted by identifier and version.
func LoadRules(root string) ([]*Rule, error) {
	var rules []*Rule
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "tests" && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(p) != ".json" {
			return nil
		}
		b, err := readBounded(p, MaxRuleBytes)
		if err != nil {
			return err
		}
		r, err := ParseRule(b)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rules = append(rules, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(rules, func(i, j int) bool {
		if rules[i].Identifier != rules[j].Identifier {
			return rules[i].Identifier < rules[j].Identifier
		}
		return rules[i].Version.Compare(rules[j].Version) < 0
	})
	return rules, nil
}

// LoadRuleFolder reads a rule folder: its rule and its tests, sorted by
// file name.
func LoadRuleFolder(dir string) (*Rule, []RuleTest, error) {
	r, err := LoadRule(dir)
	if err != nil {
		return nil, nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "tests", "*.json"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(files)
	tests := make([]RuleTest, 0, len(files))
	for _, f := range files {
		tc, err := LoadRuleTest(f)
		if err != nil {
			return nil, nil, err
		}
		tests = append(tests, tc)
	}
	return r, tests, nil
}

// LoadRuleTest reads one test file.
func LoadRuleTest(path string) (RuleTest, error) {
	b, err := readBounded(path, MaxDataBytes)
	if err != nil {
		return RuleTest{}, err
	}
	v, err := DecodeJSON(b)
	if err != nil {
		return RuleTest{}, fmt.Errorf("%s: %w", path, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return RuleTest{}, fmt.Errorf("%s: a test is a JSON object with payload, external and expected", path)
	}
	exp, ok := m["expected"].(bool)
	if !ok {
		return RuleTest{}, fmt.Errorf("%s: \"expected\" is missing or not true or false", path)
	}
	name, _ := m["name"].(string)
	return RuleTest{
		Path:     path,
		Name:     name,
		Data:     map[string]any{"payload": m["payload"], "external": m["external"]},
		Expected: exp,
	}, nil
}

// readBounded reads a file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", path, st.Size(), max)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}
