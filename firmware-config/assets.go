package firmwareconfig

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// files are the files a terminal image installs, embedded so that the
// binaries can print or install them.
//
//go:embed examples/*.toml systemd/sentineld.service udev/99-sentinel.rules
var files embed.FS

// ExampleNames returns the names of the example configurations, one per
// kind of site: compound, custom, intersection, pharmacy, supermarket.
func ExampleNames() []string {
	entries, err := fs.ReadDir(files, "examples")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Example returns the example configuration for a kind of site, as named by
// ExampleNames. Each is commented for an installer; "custom" documents every
// key.
func Example(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, fmt.Errorf("config example %q: no such example; choose one of %s", name, strings.Join(ExampleNames(), ", "))
	}
	b, err := files.ReadFile(path.Join("examples", name+".toml"))
	if err != nil {
		return nil, fmt.Errorf("config example %q: no such example; choose one of %s", name, strings.Join(ExampleNames(), ", "))
	}
	return b, nil
}

// SystemdUnit returns sentineld's systemd unit, installed as
// /etc/systemd/system/sentineld.service.
func SystemdUnit() []byte {
	b, _ := files.ReadFile("systemd/sentineld.service")
	return b
}

// UdevRules returns the udev rules that give the scanners, cameras, I²C
// buses and GPIO chips their group permissions and stable names under
// /dev/sentinel/, installed as /etc/udev/rules.d/99-sentinel.rules.
func UdevRules() []byte {
	b, _ := files.ReadFile("udev/99-sentinel.rules")
	return b
}
