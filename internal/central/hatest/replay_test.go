package hatest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central/hatest"
)

// TestCreateDatabaseReplayed: a synchronous commit waits until the
// replica has written a change, not until it has replayed it, so a
// database just created may not exist yet on the replica. With the
// replica's replay paused until the primary has the database,
// CreateDatabase returns only once the replica has replayed it: the
// database then opens on the replica at once.
func TestCreateDatabaseReplayed(t *testing.T) {
	c := hatest.StartCluster(t, nil)
	defer c.Stop()
	primary, replica := c.Nodes[0], c.Nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rconn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", replica.Port))
	if err != nil {
		t.Fatalf("connect to the replica: %v", err)
	}
	defer rconn.Close(context.Background())
	if _, err := rconn.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatalf("pause the replica's replay: %v", err)
	}
	// Resume the replay once the primary has the database.
	var resumeErr error
	resumed := make(chan struct{})
	defer func() { cancel(); <-resumed }()
	go func() {
		defer close(resumed)
		pconn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", primary.Port))
		if err != nil {
			resumeErr = err
			return
		}
		defer pconn.Close(context.Background())
		for {
			var n int
			if err := pconn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE 'hatest\\_%'").Scan(&n); err != nil {
				resumeErr = err
				return
			}
			if n > 0 {
				break
			}
			select {
			case <-ctx.Done():
				resumeErr = ctx.Err()
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		_, resumeErr = rconn.Exec(ctx, "SELECT pg_wal_replay_resume()")
	}()
	db := c.CreateDatabase(t)
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", replica.Port, db))
	if err != nil {
		t.Fatalf("CreateDatabase returned before the replica replayed the database: %v", err)
	}
	conn.Close(ctx)
	<-resumed
	if resumeErr != nil {
		t.Fatalf("resume the replica's replay: %v", resumeErr)
	}
}
