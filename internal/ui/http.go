package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

var pageTemplate = template.Must(template.ParseFS(assets, "assets/index.html"))

// pageData fills index.html.
type pageData struct {
	Lang     string // "en" or "zh"
	HTMLLang string
	Explicit bool // the page asked for its language (?lang=)
	Token    string
	Epoch    string
	Title    string
	Labels   map[string]string
}

// Handler returns the display's handler:
//
//	GET  /              the page (?lang=zh|en overrides the site's language)
//	GET  /assets/...    its script and style
//	GET  /events        the event stream (text/event-stream)
//	GET  /state         the current state as JSON, as the stream sends it
//	POST /override      a guard's override (JSON, with the page's token)
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.Handle("GET /assets/", s.static)
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("GET /state", s.serveState)
	mux.HandleFunc("POST /override", s.serveOverride)
	cop := http.NewCrossOriginProtection()
	return s.guard(cop.Handler(mux))
}

// guard refuses foreign Host headers (DNS rebinding) and sets the headers
// every response carries.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			http.Error(w, "ui: this display answers on 127.0.0.1 only", http.StatusMisdirectedRequest)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// hostAllowed accepts loopback addresses, localhost and Options.Hosts.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || slices.Contains(s.opts.Hosts, host) {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pageLang is the language a request asks for, and whether it asked.
func (s *Server) pageLang(r *http.Request) (string, bool) {
	if q := r.URL.Query().Get("lang"); q != "" {
		return normLang(q), true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lang, false
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	lang, explicit := s.pageLang(r)
	var buf bytes.Buffer
	err := s.page.Execute(&buf, pageData{
		Lang: lang, HTMLLang: htmlLang(lang), Explicit: explicit, Token: s.token, Epoch: s.epoch,
		Title: tr(lang, "title"), Labels: labels(lang),
	})
	if err != nil {
		http.Error(w, "ui: render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	lang, _ := s.pageLang(r)
	s.mu.Lock()
	snap := s.snapshot(lang)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, snap)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "ui: encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// retryMS is the reconnect delay the stream asks the browser for.
const retryMS = 1000

// streamsRetryAfter is the Retry-After, in seconds, of an event stream
// refused because too many are open.
const streamsRetryAfter = 5

// writeTimeout bounds each write to a stream, so that a stuck page does
// not hold its goroutine.
const writeTimeout = 10 * time.Second

// serveEvents streams snapshots: one when the stream opens (unless the
// browser reconnects having seen the current one, Last-Event-ID), one per
// change, and a ping event every Heartbeat so that the page notices a
// dead connection.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	lang, _ := s.pageLang(r)
	wake := make(chan struct{}, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "ui: the display is shutting down", http.StatusServiceUnavailable)
		return
	}
	if len(s.subs) >= s.opts.MaxStreams {
		s.refused++
		if s.refused == 1 { // once per episode, not per request
			s.logger.Warn("event streams full: refusing new ones", "open", len(s.subs), "max", s.opts.MaxStreams)
		}
		s.mu.Unlock()
		h := w.Header()
		h.Set("Retry-After", strconv.Itoa(streamsRetryAfter))
		h.Set("Connection", "close") // give the descriptor back at once
		http.Error(w, fmt.Sprintf("ui: %d display pages are open already, the most this terminal serves: close the others; this page retries in %d s", s.opts.MaxStreams, streamsRetryAfter), http.StatusServiceUnavailable)
		return
	}
	s.subs[wake] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, wake)
		if s.refused > 0 && len(s.subs) < s.opts.MaxStreams {
			s.logger.Info("event streams below the limit again", "refused", s.refused)
			s.refused = 0
		}
		s.mu.Unlock()
	}()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var sent string
	if id := r.Header.Get("Last-Event-ID"); strings.HasPrefix(id, s.epoch+"-") {
		sent = id
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "retry: %d\n\n", retryMS)
	if !s.sendSnapshot(&buf, lang, &sent) || s.flush(rc, w, &buf) != nil {
		return
	}
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-wake:
			s.sendSnapshot(&buf, lang, &sent)
		case <-tick.C:
			fmt.Fprintf(&buf, "event: ping\ndata: {\"now_ms\":%d}\n\n", s.opts.Now().UnixMilli())
		}
		if buf.Len() > 0 && s.flush(rc, w, &buf) != nil {
			return
		}
	}
}

// sendSnapshot appends a snapshot event unless the page has the current
// version (*sent). It reports false when the marshalling failed.
func (s *Server) sendSnapshot(buf *bytes.Buffer, lang string, sent *string) bool {
	s.mu.Lock()
	id := s.epoch + "-" + strconv.FormatUint(s.version, 10)
	if id == *sent {
		s.mu.Unlock()
		return true
	}
	snap := s.snapshot(lang)
	s.mu.Unlock()
	b, err := json.Marshal(snap)
	if err != nil {
		return false
	}
	*sent = id
	fmt.Fprintf(buf, "id: %s\nevent: snapshot\ndata: %s\n\n", id, b) // JSON has no raw newline
	return true
}

func (s *Server) flush(rc *http.ResponseController, w http.ResponseWriter, buf *bytes.Buffer) error {
	rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // unsupported writers just have none
	_, err := w.Write(buf.Bytes())
	buf.Reset()
	if err != nil {
		return err
	}
	return rc.Flush()
}
