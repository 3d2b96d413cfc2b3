package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"sentinel/internal/central/pgshard"
	"sentinel/internal/cli"
)

// clustersCmds are the subcommands of "clusters".
var clustersCmds = map[string]cli.Command{
	"add": {Summary: "add a PostgreSQL database as a cluster for passages: new sites go to the cluster with the fewest; move existing ones with 'clusters move'",
		Synopsis: "NAME URL --postgres HOME-URL", Run: runClustersAdd},
	"list": {Summary: "list the clusters for passages and how many sites each holds", Synopsis: "--postgres HOME-URL [--json]", Run: runClustersList},
	"sites": {Summary: "list which cluster holds each site's passages, and the moves under way",
		Synopsis: "--postgres HOME-URL [--json]", Run: runClustersSites},
	"move": {Summary: "move a site's passages and marks to another cluster while the centre keeps ingesting; run it again to finish a move that stopped",
		Synopsis: "SITE --to CLUSTER --postgres HOME-URL", Run: runClustersMove},
}

func runClusters(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central clusters", clustersCmds, args, stdin, stdout, stderr)
}

// clustersHelp is printed under each subcommand's flags.
const clustersHelp = `
The home cluster is the database that 'serve --postgres' names: it keeps the
routing map, the statuses, the registry, the engine and the audit log, and
passages of the sites placed on it. Each other cluster is a PostgreSQL
database of its own (best on its own server) that keeps the passages, marks
and data keys of its sites. Every running serve reads the map, and finds a
cluster added or a site moved without a restart.

Keep passwords out of the URL: put them in the ~/.pgpass (or PGPASSFILE) of
the account that runs serve, on every server host; the URL is stored in the
home database as given.

A move copies one site at a time: that site's uploads wait (a few hundred
milliseconds for a small site; past 5 s an upload is refused for now and
the terminal sends it again later), every other site keeps ingesting. If a
move stops half-way (a crash, a cluster down), run the same command again
to finish it, or move the site back to where 'clusters sites' says it came
from to undo it.

A cluster that is down stops its own sites only: their uploads are refused
for now (the terminals keep their passages and send them again), and an
export, trace or devices list that needs it fails naming it; serve starts
without it and every other site keeps ingesting. See docs/scaling.md.
`

func clustersFlags(ctx context.Context, name string, stderr io.Writer) (*flag.FlagSet, *string, *bool) {
	fs := cli.NewFlagSet("sentinel-central clusters "+name, stderr, cli.CommandHelp(ctx))
	pgURL := fs.String("postgres", "", "the home cluster: the PostgreSQL `URL` that serve --postgres names (required)")
	asJSON := new(bool)
	if name == "list" || name == "sites" {
		fs.BoolVar(asJSON, "json", false, "print JSON, one object a line")
	}
	usage := fs.Usage
	fs.Usage = func() { usage(); fmt.Fprint(fs.Output(), clustersHelp) }
	return fs, pgURL, asJSON
}

func openClusters(ctx context.Context, pgURL string) (*pgshard.Store, error) {
	if pgURL == "" {
		return nil, cli.Usagef("--postgres is required: the URL of the home database, as serve --postgres")
	}
	st, err := pgshard.Open(ctx, pgURL, nil)
	if err != nil {
		return nil, fmt.Errorf("--postgres: %w", err)
	}
	return st, nil
}

func runClustersAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, pgURL, _ := clustersFlags(ctx, "add", stderr)
	return cli.Exit(stderr, "sentinel-central clusters add", func() error {
		rest, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(rest) != 2 {
			return cli.Usagef("give the cluster's NAME (e.g. c2) and the URL of its database")
		}
		st, err := openClusters(ctx, *pgURL)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.AddCluster(ctx, rest[0], rest[1]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cluster %s added at %s: new sites go to the cluster with the fewest sites; move existing ones with\n  sentinel-central clusters move SITE --to %s --postgres HOME-URL\n",
			rest[0], pgshard.Redact(rest[1]), rest[0])
		return nil
	}())
}

func runClustersList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, pgURL, asJSON := clustersFlags(ctx, "list", stderr)
	return cli.Exit(stderr, "sentinel-central clusters list", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		st, err := openClusters(ctx, *pgURL)
		if err != nil {
			return err
		}
		defer st.Close()
		cs, err := st.Clusters(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			type out struct {
				Name  string    `json:"name"`
				URL   string    `json:"url"`
				Added time.Time `json:"added,omitzero"`
				Sites int       `json:"sites"`
			}
			enc := json.NewEncoder(stdout)
			for _, c := range cs {
				if err := enc.Encode(out{c.Name, c.Conn, c.Added, c.Sites}); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLUSTER\tSITES\tADDED\tURL")
		for _, c := range cs {
			added := "-"
			if !c.Added.IsZero() {
				added = c.Added.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", c.Name, c.Sites, added, c.Conn)
		}
		return tw.Flush()
	}())
}

func runClustersSites(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, pgURL, asJSON := clustersFlags(ctx, "sites", stderr)
	return cli.Exit(stderr, "sentinel-central clusters sites", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		st, err := openClusters(ctx, *pgURL)
		if err != nil {
			return err
		}
		defer st.Close()
		ss, err := st.Sites(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			type out struct {
				Site       string    `json:"site"`
				Cluster    string    `json:"cluster"`
				MovingFrom string    `json:"moving_from,omitempty"`
				MovingTo   string    `json:"moving_to,omitempty"`
				Placed     time.Time `json:"placed"`
				Moved      time.Time `json:"moved,omitzero"`
			}
			enc := json.NewEncoder(stdout)
			for _, s := range ss {
				if err := enc.Encode(out{s.Site, s.Cluster, s.MovingFrom, s.MovingTo, s.Placed, s.Moved}); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SITE\tCLUSTER\tMOVE")
		for _, s := range ss {
			move := "-"
			switch {
			case s.MovingTo != "":
				move = fmt.Sprintf("unfinished move to %s: run 'clusters move %s --to %s' to finish it, or --to %s to undo it", s.MovingTo, s.Site, s.MovingTo, s.Cluster)
			case s.MovingFrom != "":
				move = fmt.Sprintf("moved from %s, not yet removed there: run 'clusters move %s --to %s' to finish", s.MovingFrom, s.Site, s.Cluster)
			case !s.Moved.IsZero():
				move = "moved " + s.Moved.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Site, s.Cluster, move)
		}
		return tw.Flush()
	}())
}

func runClustersMove(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, pgURL, _ := clustersFlags(ctx, "move", stderr)
	to := fs.String("to", "", "the `CLUSTER` to move the site to (required; 'clusters list' names them)")
	return cli.Exit(stderr, "sentinel-central clusters move", func() error {
		rest, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(rest) != 1 {
			return cli.Usagef("give one SITE (the site id of its terminals' enrolment)")
		}
		if *to == "" {
			return cli.Usagef("--to is required: the cluster to move the site to")
		}
		st, err := openClusters(ctx, *pgURL)
		if err != nil {
			return err
		}
		defer st.Close()
		m, err := st.MoveSite(ctx, rest[0], *to, func(line string) { fmt.Fprintln(stdout, line) })
		if err != nil {
			return fmt.Errorf("%w\nif the move had started, the site's uploads are refused until it is finished: run the same command again, or move the site back to undo it ('clusters sites' shows where it was)", err)
		}
		if !m.AlreadyAt && !m.FirstPlace {
			fmt.Fprintf(stdout, "site %s moved from %s to %s: %d passages, %d marks; its uploads waited %v; took %v\n",
				m.Site, m.From, m.To, m.Passages, m.Marks, m.Paused.Round(time.Millisecond), m.Took.Round(time.Millisecond))
		}
		return nil
	}())
}
