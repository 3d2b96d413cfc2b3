package opsapi_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"

	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/opsapi"
)

func ExampleNew() {
	st := memstore.New(nil)
	// The role tokens live in the store, as their hashes.
	if err := st.PutOpsToken(context.Background(), central.OpsToken{
		Name: "olga", Role: opsapi.RoleOps, SHA256: sha256.Sum256([]byte("s3cret")),
	}); err != nil {
		panic(err)
	}
	h, err := opsapi.New(opsapi.Options{
		Tokens: opsapi.StoreTokens{Store: st}, Store: st, Audit: st, StoreName: "memory",
	})
	if err != nil {
		panic(err)
	}
	req := httptest.NewRequest(http.MethodGet, opsapi.DevicesPath, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println("without a token:", rec.Code)
	req.Header.Set("Authorization", "Bearer s3cret")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println("with olga's token:", rec.Code, rec.Body.String())
	// Output:
	// without a token: 401
	// with olga's token: 200 {"devices":[]}
}
