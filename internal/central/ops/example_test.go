package ops_test

import (
	"context"
	"fmt"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/ops"
)

// The audit log is the central store's: any central.Store keeps it.
func ExampleAuditLog() {
	var log ops.AuditLog = memstore.New(nil)
	ctx := context.Background()
	err := log.AppendAudit(ctx, ops.Entry{
		Time: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), Operator: "ana", Action: ops.ActionTrace,
		Purpose: "case 42", Query: ops.Query{Holder: "ZJ:42", Window: 30 * time.Minute}, Rows: 3,
	})
	fmt.Println(err)
	entries, _ := log.Audit(ctx, central.AuditFilter{Operator: "ana"})
	fmt.Println(len(entries), entries[0].Operator, entries[0].Query.Holder)
	// Output:
	// <nil>
	// 1 ana ZJ:42
}
