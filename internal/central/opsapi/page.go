package opsapi

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// The ops web page: a static page and its script and style, embedded in
// the binary. The page holds no data, so loading it needs no token; its
// script sends the operator's bearer token with every data call.
const (
	PagePath   = "/"
	AssetsPath = "/assets/"
)

// PageCSP is the Content-Security-Policy of the page and its assets: only
// files from the ops listener itself, no inline script or style, no frames.
const PageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed assets
var assetFS embed.FS

// pageHeaders sets the security headers of every page response.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", PageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache")
}

// pageHandler serves GET / (the page) and GET /assets/ (its files).
func pageHandler() (page, assets http.Handler) {
	index, err := assetFS.ReadFile("assets/index.html")
	if err != nil {
		panic("opsapi: the embedded page is missing: " + err.Error()) // a build defect, caught by the tests
	}
	page = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(index)
	})
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic("opsapi: the embedded assets are missing: " + err.Error())
	}
	files := http.StripPrefix(AssetsPath, http.FileServerFS(sub))
	assets = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listing
			return
		}
		files.ServeHTTP(w, r)
	})
	return page, assets
}
