package journal_test

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "journal-example")
	defer os.RemoveAll(dir)
	centre, _ := hpke.DHKEM(ecdh.X25519()).GenerateKey() // the centre keeps this

	j, err := journal.Open(journal.Path(dir), journal.Options{CentreKey: centre.PublicKey()})
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	seq, err := j.Append(context.Background(), &journal.Passage{
		Time:     time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC),
		Lane:     "in-1",
		Format:   credential.FormatNative,
		Issuer:   "ZJ",
		Holder:   credential.Holder{Issuer: "ZJ", Index: 4711},
		Decision: passage.Admit,
	})
	if err != nil {
		log.Fatal(err) // keep the gate shut: *journal.UnavailableError
	}
	res, _ := j.Verify()
	fmt.Println("gate may open for", seq, "records:", res.Records, "chain broken:", res.Break != nil)
	// Output: gate may open for 1 records: 1 chain broken: false
}

func ExampleNewOpener() {
	dir, _ := os.MkdirTemp("", "journal-example")
	defer os.RemoveAll(dir)
	centre, _ := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	j, _ := journal.Open(filepath.Join(dir, journal.FileName), journal.Options{CentreKey: centre.PublicKey()})
	j.Append(context.Background(), &journal.Passage{
		Time: time.Now(), Lane: "in-1", Decision: passage.Admit,
		Holder: credential.Holder{Issuer: "ZJ", Index: 4711},
	})

	// At the centre: unwrap the uploaded data keys, then open records.
	o := journal.NewOpener(centre)
	keys, _ := j.Keys()
	for _, k := range keys {
		if err := o.AddKey(k); err != nil {
			log.Fatal(err)
		}
	}
	j.Range(1, 0, func(s journal.Seq, stored []byte) error {
		r, err := journal.DecodeRecord(stored)
		if err != nil {
			return err
		}
		c, err := o.Open(r)
		if err != nil {
			return err
		}
		fmt.Println(s, r.Lane, r.Decision, c.Holder.Issuer, c.Holder.Index)
		return nil
	})
	j.Close()
	// Output: 1 in-1 admit ZJ 4711
}
