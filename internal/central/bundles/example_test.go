package bundles_test

import (
	"fmt"
	"os"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "bundles")
	defer os.RemoveAll(dir)
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	repo, err := bundles.Open(bundles.Options{Dir: dir, Root: root.Public()})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The root may sign a bundle itself (nil delegation); a deployment
	// signs with a delegated online key.
	_, err = repo.Publish(trust.KindPolicy, []byte("not a policy"), root, nil, 24*time.Hour, 72*time.Hour)
	fmt.Println(err != nil, len(repo.List()))
	// Output: true 0
}
