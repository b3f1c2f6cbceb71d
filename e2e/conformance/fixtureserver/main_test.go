package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/e2e/conformance"
	memstate "github.com/crm-mcp/crm-mcp/internal/state/memory"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// TestAuthRequired: with -auth the fixtures answer only requests carrying
// the minted token; everything else gets the product's 401 challenge.
func TestAuthRequired(t *testing.T) {
	h, err := conformance.NewHandler(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// The issuer and audience name the server's URL, known once it listens.
	var protected http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { protected.ServeHTTP(w, r) }))
	defer ts.Close()

	ring, err := keyRing("")
	if err != nil {
		t.Fatal(err)
	}
	revocations := memstate.New(memstate.Options{})
	defer revocations.Close()
	protected, tok, err := protect(h, ts.URL, ring, revocations, nil)
	if err != nil {
		t.Fatal(err)
	}

	ping := func(authz string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	wantChallenge := `Bearer resource_metadata="` + ts.URL + `/.well-known/oauth-protected-resource/mcp"`
	resp, body := ping("")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), wantChallenge) {
		t.Errorf("anonymous: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	resp, body = ping("Bearer " + tok + "x")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("forged token: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	// A token of another key ring (another server) is refused too.
	otherRing, _ := keyRing("")
	other, _ := token.NewAccessIssuer(otherRing, token.AccessOptions{Issuer: ts.URL, Audience: ts.URL + "/mcp"})
	foreign, _, err := other.Mint(token.AccessClaims{Subject: "u", TenantID: "t", ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, body = ping("Bearer " + foreign); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("foreign token: %d %s", resp.StatusCode, body)
	}
	resp, body = ping("Bearer " + tok)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"result"`) {
		t.Errorf("with the minted token: %d %s", resp.StatusCode, body)
	}
}

func TestKeyRingFromEnvFormat(t *testing.T) {
	if _, err := keyRing("k1:" + strings.Repeat("A", 43)); err != nil {
		t.Errorf("valid CRM_MCP_TOKEN_KEYS refused: %v", err)
	}
	if _, err := keyRing("nonsense"); err == nil {
		t.Error("invalid CRM_MCP_TOKEN_KEYS accepted")
	}
}

func TestRequireLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "[::1]:0": true, "localhost:8080": true, "0.0.0.0:0": false, ":0": false, "10.0.0.1:80": false} {
		if err := requireLoopback(addr); (err == nil) != ok {
			t.Errorf("requireLoopback(%q) = %v", addr, err)
		}
	}
}
