package dcc_test

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/trust"
)

// readDSC reads one of the package's test document signer certificates.
func readDSC(name string) (*x509.Certificate, crypto.Signer) {
	b, _ := os.ReadFile("testdata/dsc/" + name + "/cert.pem")
	blk, _ := pem.Decode(b)
	cert, _ := x509.ParseCertificate(blk.Bytes)
	b, _ = os.ReadFile("testdata/dsc/" + name + "/key.pem")
	blk, _ = pem.Decode(b)
	key, _ := x509.ParsePKCS8PrivateKey(blk.Bytes)
	return cert, key.(crypto.Signer)
}

func ExampleSign() {
	cert, key := readDSC("es256-vacc")
	hcert := &dcc.HCert{
		Ver: "1.3.0",
		Nam: dcc.Name{FN: "Zhang", FNT: "ZHANG", GN: "Wei", GNT: "WEI"},
		DOB: "1990-01-01",
		V: []dcc.Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: 2, SD: 2, DT: "2026-05-10", CO: "DE", IS: "Demo issuer", CI: "URN:UVCI:01:DE:DEMO#1"}},
	}
	iat := time.Date(2026, 5, 20, 8, 0, 0, 0, time.UTC)
	code, err := dcc.Sign(cert, key, hcert, "DE", iat, iat.AddDate(1, 0, 0))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(code[:4])
	// Output: HC1:
}

func ExampleVerifier() {
	cert, key := readDSC("es256-vacc")
	store := trust.New()
	if _, err := store.AddDSC(cert); err != nil {
		fmt.Println(err)
		return
	}
	store.SetPseudonymKey([]byte("deployment pseudonym key"))
	hcert := &dcc.HCert{
		Ver: "1.3.0",
		Nam: dcc.Name{FN: "Zhang", FNT: "ZHANG", GN: "Wei", GNT: "WEI"},
		DOB: "1990-01-01",
		V: []dcc.Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: 2, SD: 2, DT: "2026-05-10", CO: "DE", IS: "Demo issuer", CI: "URN:UVCI:01:DE:DEMO#1"}},
	}
	iat := time.Date(2026, 5, 20, 8, 0, 0, 0, time.UTC)
	code, _ := dcc.Sign(cert, key, hcert, "DE", iat, iat.AddDate(1, 0, 0))

	v := dcc.NewVerifier(store)
	cred, err := v.Verify([]byte(code), dcc.Options{Now: iat.Add(24 * time.Hour)})
	if err != nil {
		fmt.Println(credential.ReasonOf(err))
		return
	}
	fmt.Println(cred.Format, cred.Issuer, cred.DisplayName, cred.Facts.Kind, cred.Facts.Dose, cred.Holder.Kind == credential.HolderPseudonym)

	_, err = v.Verify([]byte(code), dcc.Options{Now: iat.AddDate(2, 0, 0)})
	fmt.Println(credential.ReasonOf(err))
	// Output:
	// eu-dcc DE Zhang * vaccination 2 true
	// expired
}
