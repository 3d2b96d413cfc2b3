package pgstore

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
)

func TestRegistryConformance(t *testing.T) {
	storetest.RunRegistry(t, storetest.Harness{
		New: func(t *testing.T) central.Store { return open(t, pgtest.NewDatabase(t)) },
		Reopen: func(t *testing.T, s central.Store) central.Store {
			cs := s.(*Store).connString
			s.Close()
			return open(t, cs)
		},
	}, func(t *testing.T, s central.Store) central.Store {
		return open(t, s.(*Store).connString) // a second serve process
	})
}

// TestAuditAppendOnly: the database itself refuses to change, delete or
// truncate the audit log, whoever connects.
func TestAuditAppendOnly(t *testing.T) {
	ctx := context.Background()
	cs := pgtest.NewDatabase(t)
	s := open(t, cs)
	defer s.Close()
	if err := s.AppendAudit(ctx, storetest.AuditEntries(1)[0]); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{`UPDATE audit_log SET operator = 'mallory'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("%s: got no error, want the append-only trigger's refusal", q)
		}
	}
	// The retention's setting (migration 0012) lets a DELETE through,
	// never an UPDATE or a TRUNCATE.
	for _, q := range []string{`UPDATE audit_log SET operator = 'mallory'`, `TRUNCATE audit_log`} {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL sentinel.expire = 'on'"); err != nil {
				t.Fatal(err)
			}
			_, err := tx.Exec(ctx, q)
			return err
		})
		if err == nil {
			t.Errorf("%s with sentinel.expire on: got no error, want the append-only trigger's refusal", q)
		}
	}
	if got, err := s.Audit(ctx, central.AuditFilter{}); err != nil || len(got) != 1 || got[0].Operator != "olga" {
		t.Errorf("Audit after the refused changes: got %+v, %v", got, err)
	}
}
