package ops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sentinel/internal/central/ops"
)

func ExampleNewFileLog() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	log := ops.NewFileLog(filepath.Join(dir, ops.AuditFile))
	err := log.Append(context.Background(), ops.Entry{
		Time: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), Operator: "ana", Action: ops.ActionTrace,
		Purpose: "case 42", Query: ops.Query{Holder: "ZJ:42", Window: 30 * time.Minute}, Rows: 3,
	})
	fmt.Println(err)
	entries, _ := ops.ReadLog(log.Path())
	fmt.Println(len(entries), entries[0].Operator, entries[0].Query.Holder)
	// Output:
	// <nil>
	// 1 ana ZJ:42
}
