package issuance_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"sentinel/crypto/healthcode"
	"sentinel/internal/central/issuance"
	"sentinel/internal/central/memstore"
)

// The centre mounts the handler at issuance.Path; the app backend posts the
// holder's index with its issuer token.
func ExampleNew() {
	db := memstore.New(nil) // serve gives its central store
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	zj, _ := healthcode.NewIssuer("ZJ", priv, nil)
	h, err := issuance.New(issuance.Options{
		Issuers:  []*healthcode.Issuer{zj},
		Statuses: db,
		Tokens:   []issuance.Token{{Name: "zj-app", Secret: "a-long-random-issuer-token", Issuer: "ZJ"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle(issuance.Path, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+issuance.Path, strings.NewReader(`{"index": 1024, "display_name": "Zhang *"}`))
	req.Header.Set("Authorization", "Bearer a-long-random-issuer-token")
	res, err := srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Println(res.Status)
	// Output: 200 OK
}
