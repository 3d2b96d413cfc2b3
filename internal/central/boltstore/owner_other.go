//go:build !unix

package boltstore

import "os"

// sameOwner gives the file at path the permissions of fi.
func sameOwner(path string, fi os.FileInfo) error {
	return os.Chmod(path, fi.Mode().Perm())
}
