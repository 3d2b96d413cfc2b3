package protocol_test

import (
	"fmt"

	"sentinel/sync/journal"
	"sentinel/sync/protocol"
)

func ExampleEncodeUpload() {
	var epoch journal.Epoch
	u := &protocol.Upload{
		Device:  "gate-1",
		Epoch:   epoch,
		First:   1,
		Prev:    journal.Genesis(epoch),
		Records: [][]byte{{0xa0}}, // the journal's stored bytes, unchanged
	}
	body, err := protocol.EncodeUpload(u)
	if err != nil {
		panic(err)
	}
	got, err := protocol.DecodeUpload(body, 0)
	fmt.Println(got.Device, got.First, got.Last(), err)
	// Output: gate-1 1 1 <nil>
}
