package terminal

// Where the terminal keeps its trust in the data directory. Sync writes the
// bundles as it downloads them; `sentinelctl trust pin` or enrolment
// writes the root.
const (
	rootFile  = "trust/root.pub"
	bundleDir = "bundles"
)
