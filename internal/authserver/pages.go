package authserver

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"

	"github.com/crm-mcp/crm-mcp/internal/obs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.FileServerFS(sub)
}

// setHTMLHeaders applies the browser hardening every page carries: no
// framing (RFC 9700 §4.16), no inline script or style, no referrer leaking
// codes or states (§4.2), no caching.
func setHTMLHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// render executes a page into a buffer first, so a template failure never
// sends half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data map[string]any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.logger.Error("render page failed", "page", name)
		setHTMLHeaders(w)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<!doctype html><title>Error</title><p>Internal error.</p>"))
		return
	}
	setHTMLHeaders(w)
	if status == http.StatusServiceUnavailable {
		// RFC 9110 §10.2.3, §15.6.4: tell the browser (and a retrying
		// client) when to come back; pages answer outages like the JSON
		// endpoints do (catalog R-01).
		w.Header().Set("Retry-After", "5")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage is shown when redirecting back to the client would be unsafe
// (unknown client, unregistered redirect URI, RFC 6749 §4.1.2.1) or
// impossible. Messages are constants: never request data or errors.
func (s *Server) errorPage(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "error.html", map[string]any{"Title": "Error", "Message": msg})
}

func (s *Server) errorPageReq(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, status, "error.html", map[string]any{"Title": "Error", "Message": msg, "RequestID": obs.RequestIDFrom(r.Context())})
}
