package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func startProxy(t *testing.T, backend http.Handler) string {
	t.Helper()
	be := httptest.NewServer(backend)
	t.Cleanup(be.Close)
	u, err := parseTarget(be.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := httptest.NewServer(handler(u, "tok-123", log.New(io.Discard, "", 0)))
	t.Cleanup(p.Close)
	return p.URL
}

// TestForwardsAsCame: the token replaces any Authorization; Host, Origin,
// path and query reach the server as the client sent them, with no
// X-Forwarded-* added.
func TestForwardsAsCame(t *testing.T) {
	type seen struct {
		host, origin, authz, uri, xff string
		authzCount                    int
	}
	got := make(chan seen, 1)
	proxy := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Host, r.Header.Get("Origin"), r.Header.Get("Authorization"), r.RequestURI, r.Header.Get("X-Forwarded-For") + r.Header.Get("X-Forwarded-Host"), len(r.Header.Values("Authorization"))}
		w.WriteHeader(http.StatusTeapot)
	}))
	req, _ := http.NewRequest(http.MethodPost, proxy+"/mcp?x=1", strings.NewReader("{}"))
	req.Host = "evil.example:1234"
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Add("Authorization", "Basic Zm9vOmJhcg==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("status %d", resp.StatusCode)
	}
	s := <-got
	want := seen{host: "evil.example:1234", origin: "http://evil.example", authz: "Bearer tok-123", uri: "/mcp?x=1", authzCount: 1}
	if s != want {
		t.Errorf("server saw %+v, want %+v", s, want)
	}
}

// TestStreamsUnbuffered: each SSE event reaches the client before the
// server writes the next one.
func TestStreamsUnbuffered(t *testing.T) {
	next := make(chan struct{})
	proxy := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := range 3 {
			fmt.Fprintf(w, "data: event %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, proxy+"/mcp", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v (buffered by the proxy?)", i, err)
		}
		if want := fmt.Sprintf("data: event %d\n", i); line != want {
			t.Fatalf("got %q, want %q", line, want)
		}
		_, _ = r.ReadString('\n') // blank line ending the event
		next <- struct{}{}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for s, ok := range map[string]bool{
		"http://127.0.0.1:8080":      true,
		"http://[::1]:8080/":         true,
		"http://localhost:1":         true,
		"http://10.0.0.1:80":         false,
		"http://example.com":         false,
		"https://127.0.0.1:1":        false,
		"http://127.0.0.1:1/mcp":     false,
		"http://u:p@127.0.0.1:1":     false,
		"":                           false,
		"http://127.0.0.1:1/?q=1":    false,
		"http://127.0.0.2:1":         true,
		"http://0.0.0.0:1":           false,
		"http://169.254.169.254:80/": false,
	} {
		if _, err := parseTarget(s); (err == nil) != ok {
			t.Errorf("parseTarget(%q) = %v", s, err)
		}
	}
	if err := requireLoopbackAddr(":0"); err == nil {
		t.Error("listening on all interfaces accepted")
	}
}

// TestBodyLimit: bodies are buffered (bufferBody) whole, chunked ones
// included, up to maxBodyBytes.
func TestBodyLimit(t *testing.T) {
	proxy := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d %d", len(b), r.ContentLength)
	}))
	// A chunked request arrives with its length known.
	resp, err := http.Post(proxy+"/mcp", "application/json", io.MultiReader(strings.NewReader("abc"), strings.NewReader("def")))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "6 6" {
		t.Errorf("chunked body forwarded as %q, want \"6 6\"", got)
	}
	resp, err = http.Post(proxy+"/mcp", "application/json", strings.NewReader(strings.Repeat("x", maxBodyBytes+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", resp.StatusCode)
	}
}
