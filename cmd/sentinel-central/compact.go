package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/server"
	"sentinel/internal/cli"
)

// runCompact rewrites the bbolt store DATA/central.db without its free
// pages, where the bytes of purged passages and expired records stay until
// bbolt writes the pages again (docs/privacy.md). serve must be stopped:
// it holds the file.
func runCompact(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central compact", stderr, cli.CommandHelp(ctx))
	data := fs.String("data", defaultCentralData, "the centre's data `DIR`, whose "+server.StoreFile+" is rewritten (stop serve first)")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central compact", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		path := filepath.Join(*data, server.StoreFile)
		before, after, err := boltstore.Compact(path, 0)
		if err != nil {
			slog.Error("compact failed", "store", path, "error", err)
			return fmt.Errorf("could not compact %s: %w; if serve runs, stop it (systemctl stop sentinel-central), compact, and start it again", path, err)
		}
		if *asJSON {
			return printJSON(stdout, struct {
				Store  string `json:"store"`
				Before int64  `json:"bytes_before"`
				After  int64  `json:"bytes_after"`
			}{path, before, after})
		}
		_, err = fmt.Fprintf(stdout, "compacted %s: %d bytes before, %d after; what retention removed is no longer in the file\n", path, before, after)
		return err
	}())
}
