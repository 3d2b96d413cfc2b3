package shc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"sentinel/crypto/shc"
	"sentinel/crypto/trust"
)

func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss := "https://issuer.example.org/shc"
	vc := map[string]any{
		"type": []string{"https://smarthealth.cards#health-card"},
		"credentialSubject": map[string]any{"fhirVersion": "4.0.1", "fhirBundle": map[string]any{
			"resourceType": "Bundle", "type": "collection",
			"entry": []any{
				map[string]any{"resource": map[string]any{"resourceType": "Patient",
					"name": []any{map[string]any{"family": "Zhang", "given": []string{"San"}}}, "birthDate": "1980-02-29"}},
				map[string]any{"resource": map[string]any{"resourceType": "Immunization", "status": "completed",
					"vaccineCode":        map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}}},
					"occurrenceDateTime": "2021-06-01"}},
			},
		}},
	}
	nbf := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	jws, err := shc.Sign(key, "", iss, vc, nbf, time.Time{})
	if err != nil {
		fmt.Println(err)
		return
	}
	qr := shc.EncodeNumeric(jws) // the text of the QR code

	store := trust.New()
	store.AddSHCKey(&trust.SHCKey{Issuer: iss, KID: trust.Thumbprint(&key.PublicKey), Public: &key.PublicKey})

	u, err := shc.Decode(qr)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := u.Verify(store, nbf.Add(24*time.Hour))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Issuer, c.DisplayName, c.Facts.Kind, c.Facts.Product)
	// Output: https://issuer.example.org/shc Zhang * immunization 208
}

func ExampleAssembler() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jws, _ := shc.Sign(key, "", "https://issuer.example.org/shc", map[string]any{}, time.Now(), time.Time{})
	var a shc.Assembler
	for _, part := range shc.EncodeChunks(jws, 3) {
		whole, _, err := a.Add(part)
		switch {
		case err != nil:
			fmt.Println(err)
		case whole == "":
			have, total := a.Pending()
			fmt.Printf("%d of %d parts\n", have, total)
		default:
			fmt.Println("complete:", whole == jws)
		}
	}
	// Output:
	// 1 of 3 parts
	// 2 of 3 parts
	// complete: true
}
