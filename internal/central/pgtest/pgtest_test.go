package pgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestNewDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := NewDatabase(t), NewDatabase(t)
	if a == b {
		t.Fatalf("NewDatabase twice: got %s both times", a)
	}
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var addr string
	if err := conn.QueryRow(ctx, "SELECT host(inet_server_addr())").Scan(&addr); err != nil {
		t.Fatal(err)
	}
	if addr != "127.0.0.1" {
		t.Errorf("server address: got %s, want 127.0.0.1", addr)
	}
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "off" {
		t.Errorf("fsync: got %q, %v; want off", fsync, err)
	}
}

func TestFindBin(t *testing.T) {
	defer func(g string) { binGlob = g }(binGlob)
	dir := t.TempDir()
	binGlob = filepath.Join(dir, "*", "bin")
	t.Setenv("PATH", t.TempDir())
	if _, err := findBin(); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("findBin with nothing installed: got %v, want ErrNotInstalled", err)
	}
	for _, v := range []string{"13", "16"} {
		bin := filepath.Join(dir, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"initdb", "pg_ctl"} {
			if err := os.WriteFile(filepath.Join(bin, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := findBin()
	if want := filepath.Join(dir, "16", "bin"); err != nil || got != want {
		t.Fatalf("findBin: got %q, %v; want %q (the newest version)", got, err, want)
	}
}
