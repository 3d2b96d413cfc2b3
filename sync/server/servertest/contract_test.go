package servertest_test

import (
	"testing"

	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

func TestMemStore(t *testing.T) {
	servertest.RunStoreTests(t, func(*testing.T) server.Store { return servertest.NewMem() })
}
