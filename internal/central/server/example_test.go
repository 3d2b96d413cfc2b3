package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"sentinel/crypto/trust"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/server"
)

func ExampleNew() {
	data, err := os.MkdirTemp("", "central")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(data)
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	root, err := trust.GenerateRoot(nil, trust.KeyEd25519)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.Root, cfg.Store = data, root.Public(), st
	cfg.Listen, cfg.EnrolListen = "127.0.0.1:0", "127.0.0.1:0" // any free port
	s, err := server.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	dev, enrolment := s.Addrs()
	fmt.Println(dev != nil, enrolment != nil)
	fmt.Println(s.Shutdown(context.Background()))
	// Output:
	// true true
	// <nil>
}
