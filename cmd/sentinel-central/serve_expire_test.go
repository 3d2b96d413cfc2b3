package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/server"
)

// TestServeExpires: a running serve removes, in its first retention run,
// a fact that ended before --retention and an audit entry older than
// --audit-retention, and keeps the recent ones; before, it kept both for
// ever.
func TestServeExpires(t *testing.T) {
	ctx := context.Background()
	e := newStatusEnv(t)
	if err := os.MkdirAll(e.data, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.data, server.StoreFile)
	st, err := boltstore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	by := central.ChangeBy{Time: now, By: "ops:test"}
	err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for _, at := range []time.Time{now.Add(-100 * 24 * time.Hour), now.Add(-time.Hour)} {
			if _, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:1", Kind: central.FactConfirmed, At: at, Source: "ops:test"}, by); err != nil {
				return err
			}
		}
		return nil
	})
	for _, at := range []time.Time{now.Add(-400 * 24 * time.Hour), now.Add(-time.Hour)} {
		if err == nil {
			err = st.AppendAudit(ctx, central.AuditEntry{Time: at, Operator: "olga", Action: central.AuditTrace, Purpose: "case 7",
				Query: central.AuditQuery{Holder: "ZJ:1"}, Store: path})
		}
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	s := startServe(t, "--data", e.data, "--root-pub", e.rootPub, "--key", e.signer, "--delegation", e.del, "--no-time", "--no-schedule")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.stderr.String(), "audit records past the retention removed") {
		if time.Now().After(deadline) {
			t.Fatalf("serve logged no retention run:\n%s", s.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exit %d", code)
	}

	st, err = boltstore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var facts []central.Fact
	err = st.ViewEngine(ctx, func(r central.EngineReader) error {
		facts, err = r.AllFacts(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(facts) != 1 || !facts[0].At.Equal(now.Add(-time.Hour)) {
		t.Errorf("facts after serve's retention: %+v, want the recent one alone", facts)
	}
	es, err := st.Audit(ctx, central.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || !es[0].Time.Equal(now.Add(-time.Hour)) {
		t.Errorf("audit after serve's retention: %+v, want the recent entry alone", es)
	}
}
