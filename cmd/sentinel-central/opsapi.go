package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sentinel/internal/central/enrol"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/cli"
)

// opsCallTimeout bounds the wait for the operator API's answer to begin;
// the body (an export) may then take as long as it takes.
const opsCallTimeout = 2 * time.Minute

// opsAPI calls a running server's operator API (serve --ops-listen)
// with a role token: export and trace while the server holds the bbolt
// store.
type opsAPI struct {
	base  *url.URL
	token string
	hc    *http.Client
}

// newOpsAPI checks the flags and reads the token and the CA that
// verifies the server (DATA/enrol/ca.pem unless caFile is given).
func newOpsAPI(rawURL, tokenFile, caFile, data string) (*opsAPI, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, cli.Usagef("--server %q: want https://HOST:PORT of serve --ops-listen (the token must not travel in clear)", rawURL)
	}
	if tokenFile == "" {
		return nil, cli.Usagef("--server needs --token-file FILE with an ops role token")
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("--token-file: %w", err)
	}
	token := strings.TrimSpace(string(tok))
	if token == "" {
		return nil, fmt.Errorf("--token-file %s is empty", tokenFile)
	}
	if caFile == "" {
		caFile = filepath.Join(data, enrol.CACertFile)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("the device CA that verifies the server: %w (give --ca FILE, a copy of the centre's %s)", err, enrol.CACertFile)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13},
		ResponseHeaderTimeout: opsCallTimeout,
	}}
	return &opsAPI{base: u, token: token, hc: hc}, nil
}

// post sends body as JSON to path and returns the answer when it is 200 OK;
// any other answer is an error with the server's reason.
func (c *opsAPI) post(ctx context.Context, path string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath(path).String(), bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

// do sends req with the token and returns the answer when it is 200 OK;
// any other answer is an error with the server's reason.
func (c *opsAPI) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (is serve running with --ops-listen there?)", c.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var e struct{ Error string }
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
		hint := ""
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			hint = ": the token is unknown to the server (see sentinel-central tokens list on the centre)"
		case http.StatusForbidden:
			hint = ": the token's role may not do this (the fleet, export and trace need an ops token)"
		}
		return nil, fmt.Errorf("%s refused (%s): %s%s", c.base, resp.Status, e.Error, hint)
	}
	return resp, nil
}

// close lets go of the connections.
func (c *opsAPI) close() { c.hc.CloseIdleConnections() }

// export asks the server for an export and writes it to w; the server
// audits it under the token's name before it sends a row.
func (c *opsAPI) export(ctx context.Context, req opsapi.ExportRequest, w io.Writer) (rows string, err error) {
	resp, err := c.post(ctx, opsapi.ExportPath, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return "", fmt.Errorf("export from %s cut off: %w", c.base, err)
	}
	return resp.Header.Get("X-Sentinel-Rows"), nil
}

// trace asks the server for a trace, audited there.
func (c *opsAPI) trace(ctx context.Context, req opsapi.TraceRequest) (*ops.TraceResult, error) {
	resp, err := c.post(ctx, opsapi.TracePath, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res ops.TraceResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, fmt.Errorf("trace from %s: %w", c.base, err)
	}
	return &res, nil
}

// devices asks the server for what its store knows of each terminal.
func (c *opsAPI) devices(ctx context.Context) ([]opsapi.DeviceOut, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.JoinPath(opsapi.DevicesPath).String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Devices []opsapi.DeviceOut `json:"devices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("the fleet from %s: %w", c.base, err)
	}
	return out.Devices, nil
}
