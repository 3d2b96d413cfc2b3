package opsapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"sentinel/internal/central/memstore"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/opsapi"
)

func ExampleNew() {
	tokens, err := opsapi.NewTokens([]opsapi.Token{
		{Name: "olga", Role: opsapi.RoleOps, SHA256: opsapi.HashToken("s3cret")},
	})
	if err != nil {
		panic(err)
	}
	h, err := opsapi.New(opsapi.Options{
		Tokens: tokens, Store: memstore.New(nil), Audit: ops.NewFileLog("/dev/null"), StoreName: "memory",
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
