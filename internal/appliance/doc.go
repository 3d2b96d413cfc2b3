// Package appliance holds the tests of what turns the binaries into an
// appliance: the systemd units (firmware-config/systemd for the terminal,
// packaging/systemd for the centre), the guard display's kiosk, and the
// Debian packages that packaging/build makes. It has no code of its own:
// the packaging is a separate module (packaging/) so that the product's
// go.mod carries none of nfpm's dependencies, and its tests live here so
// that `go test ./...` runs them.
//
// The package tests build the packages (or take those of
// SENTINEL_DEB_DIR), inspect them with dpkg-deb and lintian, and install
// them into a throw-away overlay of this machine's root (a private mount
// namespace, so the machine itself is never changed); they need dpkg and,
// for the installs, root. Where a tool is missing they skip with a loud
// message, and fail instead when CI=true.
package appliance
