// Package pgshard spreads the passages of the central store over several
// PostgreSQL clusters by site, each a plain PostgreSQL database with the
// pgstore schema, routed by a site-to-cluster map that the home cluster
// keeps.
//
// # What lives where
//
// The home cluster (the database serve --postgres names) keeps what is
// small or read as a whole: the routing map (clusters, site_clusters,
// device_sites), the statuses, the device registry, the code engine's
// facts and rule sets, the audit log, the operator tokens, the health
// reports and the epochs' owners. Every cluster, the home one included,
// keeps the passages of its sites with the marks (high_water), data keys,
// devices and forks of their terminals: what grows with the number of
// passages. A terminal is enrolled for one site, so everything an upload
// writes is on one cluster, in one transaction, as on a single store.
//
// # Ingest
//
// IngestLinked claims the device's site and the epoch at the home
// cluster (once per process: neither changes), finds the site's cluster
// in the map (placing a new site on the cluster with the fewest sites),
// and runs pgstore's ingest there. That transaction first takes the
// site's advisory lock shared and checks that the cluster holds the site
// (site_owner): a map read before a move is caught there and the upload
// goes again to the new cluster; an upload of a site that is being copied
// waits (Options.MoveWait) and then fails with ErrSiteMoving (matching
// central.ErrBusy: answered 503, logged as expected), which the terminal
// retries like any failed upload. An upload naming another site than the
// device's claimed one fails with a *central.SiteFixedError, which the
// sync server answers as a permanent refusal. The fevers an upload keeps as
// facts go to the home cluster, where the engine reads them: on another
// cluster they are kept in a transaction of the home cluster made inside
// the ingest's, before it commits; a fever's source names its record, so
// a fever kept for an upload whose commit then failed is not kept twice
// when the terminal sends it again.
//
// # Reads
//
// A filter that names a site or a device reads one cluster (the trace's
// second step: who else passed this site). Any other filter reads every
// cluster at once and merges the rows in the store's order. Every read
// checks, in its snapshot, that the cluster holds the site, and leaves
// out sites that have moved away.
//
// # Moving a site
//
// MoveSite moves one site's rows to another cluster while every other
// site keeps ingesting and this one's uploads wait: see its comment for
// the steps, and docs/scaling.md for the procedure. A move that stops
// half-way is finished by running it again, and undone by moving the site
// back.
package pgshard
