package opsapi

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPageServed(t *testing.T) {
	f := newFixture(t, false, nil)
	cases := []struct {
		name, path, ctype string
		code              int
		contains          string
	}{
		{"page", "/", "text/html; charset=utf-8", http.StatusOK, `<script src="/assets/ops.js" defer></script>`},
		{"script", "/assets/ops.js", "text/javascript; charset=utf-8", http.StatusOK, "sessionStorage"},
		{"style", "/assets/ops.css", "text/css; charset=utf-8", http.StatusOK, "font-family"},
		{"no listing", "/assets/", "", http.StatusNotFound, ""},
		{"unknown asset", "/assets/nope.js", "", http.StatusNotFound, ""},
		{"unknown path", "/index.php", "", http.StatusNotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := f.do(t, http.MethodGet, c.path, "", "")
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.code {
				t.Fatalf("GET %s: got %d, want %d", c.path, resp.StatusCode, c.code)
			}
			if c.code != http.StatusOK {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != c.ctype {
				t.Errorf("GET %s: got Content-Type %q, want %q", c.path, got, c.ctype)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != PageCSP || !strings.HasPrefix(got, "default-src 'self'") {
				t.Errorf("GET %s: got CSP %q, want %q", c.path, got, PageCSP)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("GET %s: got X-Content-Type-Options %q, want nosniff", c.path, got)
			}
			if !strings.Contains(string(body), c.contains) {
				t.Errorf("GET %s: body does not contain %q", c.path, c.contains)
			}
		})
	}
}

// TestPageNoInlineCode checks the page against its own CSP: no inline
// script, no inline style, no event attribute, nothing from elsewhere.
func TestPageNoInlineCode(t *testing.T) {
	html, err := assetFS.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ToLower(string(html))
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onsubmit=", "javascript:", "http://", "https://", "//fonts", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	if n := strings.Count(page, "<script"); n != strings.Count(page, `<script src="/assets/`) {
		t.Errorf("index.html has %d scripts, not all from /assets/", n)
	}
	for _, name := range []string{"assets/ops.js", "assets/ops.css"} {
		b, err := assetFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "document.cookie", "localStorage", "innerHTML", "eval("} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}

// TestPageNeedsNoTokenButDataDoes: the page loads without a token, the
// data calls beside it still refuse one, and the page does not open the
// admin call to anyone.
func TestPageNeedsNoTokenButDataDoes(t *testing.T) {
	f := newFixture(t, true, nil)
	if resp := f.do(t, http.MethodGet, "/", "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / without a token: got %d, want 200", resp.StatusCode)
	}
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, DevicesPath, ""},
		{http.MethodPost, ExportPath, exportBody},
		{http.MethodPost, TracePath, traceBody},
		{http.MethodGet, BackupPath, ""},
	} {
		if resp := f.do(t, c.method, c.path, "", c.body); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: got %d, want 401", c.method, c.path, resp.StatusCode)
		}
	}
	if resp := f.do(t, http.MethodGet, DevicesPath, adminToken, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET %s with an admin token: got %d, want 403", DevicesPath, resp.StatusCode)
	}
	if resp := f.do(t, http.MethodPost, "/", opsToken, ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: got %d, want 405", resp.StatusCode)
	}
	if es := f.entries(t); len(es) != 0 {
		t.Errorf("got %d audit entries after refused calls, want 0", len(es))
	}
}
