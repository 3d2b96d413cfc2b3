// Command packaging builds Sentinel's Debian packages with nfpm, from
// binaries already built for each architecture. It is its own module so
// that the product's go.mod carries none of nfpm's dependencies; the
// script packaging/build builds the binaries with the version stamped and
// runs it:
//
//	go -C packaging run . -version 1.4.0 -bin BINDIR -out DISTDIR [-arch amd64,arm64,armhf]
//
// BINDIR holds one directory per Debian architecture (amd64, arm64,
// armhf) with sentineld, sentinelctl and sentinel-central. The packages
// are sentinel-terminal for amd64, arm64 and armhf, and sentinel-central
// for amd64 and arm64, described by terminal.yaml and central.yaml.
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// pkg is one package description and the architectures it is built for.
type pkg struct {
	config string
	arches []string
}

var pkgs = []pkg{
	{"terminal.yaml", []string{"amd64", "arm64", "armhf"}},
	{"central.yaml", []string{"amd64", "arm64"}},
}

func main() {
	version := flag.String("version", "", "the Debian `VERSION` of the packages (required)")
	bin := flag.String("bin", "", "`DIR` with a directory of binaries per architecture (required)")
	out := flag.String("out", "", "`DIR` to write the .deb files into (required)")
	arches := flag.String("arch", "amd64,arm64,armhf", "comma-separated Debian `ARCHES` to build")
	flag.Parse()
	if *version == "" || *bin == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run . -version VERSION -bin DIR -out DIR [-arch LIST]")
		os.Exit(2)
	}
	if err := build(*version, *bin, *out, strings.Split(*arches, ",")); err != nil {
		fmt.Fprintf(os.Stderr, "packaging: %v\n", err)
		os.Exit(1)
	}
}

func build(version, bin, out string, want []string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	built := 0
	for _, p := range pkgs {
		for _, arch := range p.arches {
			if !slices.Contains(want, arch) {
				continue
			}
			vars := map[string]string{"VERSION": version, "ARCH": arch, "BIN": filepath.Join(bin, arch)}
			cfg, err := nfpm.ParseFileWithEnvMapping(p.config, func(k string) string { return vars[k] })
			if err != nil {
				return fmt.Errorf("%s: %w", p.config, err)
			}
			info, err := cfg.Get("deb")
			if err != nil {
				return fmt.Errorf("%s: %w", p.config, err)
			}
			info = nfpm.WithDefaults(info)
			cl, err := changelog(out, info)
			if err != nil {
				return err
			}
			info.Contents = append(info.Contents, &files.Content{
				Source: cl, Destination: "/usr/share/doc/" + info.Name + "/changelog.gz",
				FileInfo: &files.ContentFileInfo{Mode: 0o644},
			})
			if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
				return fmt.Errorf("%s for %s: %w", p.config, arch, err)
			}
			name := filepath.Join(out, deb.Default.ConventionalFileName(info))
			err = write(name, info)
			os.Remove(cl)
			if err != nil {
				return err
			}
			fmt.Println(name)
			built++
		}
	}
	if built == 0 {
		return errors.New("no package for the architectures " + strings.Join(want, ","))
	}
	return nil
}

// changelog writes the package's Debian changelog, one entry for this
// build (the history is the repository's), gzipped without a timestamp so
// that the package is reproducible, and returns its path.
func changelog(dir string, info *nfpm.Info) (string, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s (%s) stable; urgency=medium\n\n  * Built from the Sentinel tree at version %s;\n    the changes are the repository's history.\n\n -- %s  %s\n",
		info.Name, info.Version, info.Version, info.Maintainer, info.MTime.UTC().Format(time.RFC1123Z))
	var z bytes.Buffer
	zw, err := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	zw.Write(b.Bytes())
	if err := zw.Close(); err != nil {
		return "", err
	}
	name := filepath.Join(dir, "."+info.Name+"_"+info.Arch+".changelog.gz")
	return name, os.WriteFile(name, z.Bytes(), 0o644)
}

func write(name string, info *nfpm.Info) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		os.Remove(name)
		return fmt.Errorf("%s: %w", name, err)
	}
	return f.Close()
}
